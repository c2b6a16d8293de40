"""Row-level security on every tenant table of the app (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_jobrun")]

    operations = [
        EnableRowLevelSecurity("team"),
        EnableRowLevelSecurity("auditevent"),
        EnableRowLevelSecurity("notification"),
        EnableRowLevelSecurity("outboundmessage"),
        EnableRowLevelSecurity("jobrun"),
    ]
