"""Row-level security on the approval requests and their steps (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("approvalrequest"),
        EnableRowLevelSecurity("approvalstep"),
    ]
