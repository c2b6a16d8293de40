"""Row-level security on the targets, subscriptions and deliveries (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("salestarget"),
        EnableRowLevelSecurity("reportsubscription"),
        EnableRowLevelSecurity("reportdelivery"),
    ]
