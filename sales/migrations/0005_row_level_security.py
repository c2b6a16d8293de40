"""Row-level security on every tenant table of the app (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("sales", "0004_lead_import_job_to_imports")]

    operations = [
        EnableRowLevelSecurity("followup"),
        EnableRowLevelSecurity("task"),
        EnableRowLevelSecurity("appointment"),
        EnableRowLevelSecurity("appointmentattendee"),
        EnableRowLevelSecurity("appointmentcontact"),
        EnableRowLevelSecurity("order"),
        EnableRowLevelSecurity("orderline"),
        EnableRowLevelSecurity("lead"),
        EnableRowLevelSecurity("leadscoringrule"),
        EnableRowLevelSecurity("leadwebform"),
        EnableRowLevelSecurity("pipeline"),
        EnableRowLevelSecurity("stage"),
        EnableRowLevelSecurity("opportunity"),
        EnableRowLevelSecurity("opportunityline"),
        EnableRowLevelSecurity("stagechange"),
    ]
