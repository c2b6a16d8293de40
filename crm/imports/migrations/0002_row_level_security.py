"""Row-level security on the import jobs (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("importjob"),
    ]
