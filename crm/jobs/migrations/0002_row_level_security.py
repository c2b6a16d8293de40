"""Row-level security on the background jobs' runs (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]

    operations = [EnableRowLevelSecurity("taskrun")]
