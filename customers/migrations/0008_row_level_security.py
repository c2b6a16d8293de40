"""Row-level security on every tenant table of the app (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_extension_requests_on_approvals")]

    operations = [
        EnableRowLevelSecurity("customerlevel"),
        EnableRowLevelSecurity("pool"),
        EnableRowLevelSecurity("poolteam"),
        EnableRowLevelSecurity("poollevelrule"),
        EnableRowLevelSecurity("tag"),
        EnableRowLevelSecurity("customer"),
        EnableRowLevelSecurity("customertag"),
        EnableRowLevelSecurity("contact"),
        EnableRowLevelSecurity("customeridentifier"),
        EnableRowLevelSecurity("ownershipevent"),
        EnableRowLevelSecurity("customeruserobjectpermission"),
        EnableRowLevelSecurity("exportjob"),
        EnableRowLevelSecurity("poolview"),
        EnableRowLevelSecurity("fallbackwarning"),
        EnableRowLevelSecurity("extensionrequest"),
        EnableRowLevelSecurity("assignmentsettings"),
        EnableRowLevelSecurity("assignmentrule"),
        EnableRowLevelSecurity("assignmentrulelevel"),
        EnableRowLevelSecurity("assignmentruletag"),
        EnableRowLevelSecurity("assignmentcursor"),
        EnableRowLevelSecurity("assignmentlog"),
    ]
