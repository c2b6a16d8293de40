"""Sample URL arguments for the working calendar's pages (see samples_crm.py for the contract)."""

import datetime as dt

from crm.workcalendar.models import CalendarOverride

from .marks import named


def _override(world):
    override, _created = CalendarOverride.objects.get_or_create(
        tenant=world.tenant,
        day=dt.date(2030, 1, 2),
        defaults={"is_working": False, "note": named(world, "MARKA override")},
    )
    return {"pk": override.pk}


SAMPLES = {
    "workcalendar:override_remove": _override,
}
