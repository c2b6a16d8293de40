"""Row-level security on the working calendars and their per-date overrides (crm/rls.py)."""

from django.db import migrations

from crm.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("workcalendar"),
        EnableRowLevelSecurity("calendaroverride"),
    ]
