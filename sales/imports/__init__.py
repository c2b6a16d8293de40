"""The sales app's import kinds (crm.imports): leads (`lead`) and the product catalogue (`product`), registered from
SalesConfig.ready()."""
