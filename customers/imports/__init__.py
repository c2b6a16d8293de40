"""The customers app's import kinds (crm.imports): customers (`customer`) and contacts into existing customers
(`contact`), registered from CustomersConfig.ready()."""
