"""Writes of the working calendar: the tenant's week and hours, and per-date overrides.

Every change renews `WorkCalendar.revision` in its transaction, and after commit this process forgets its cached
calendar and `calendar_changed` is sent; other processes see the new revision within REFRESH_SECONDS.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats
from django.utils.translation import gettext as _

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit

from . import selectors
from .models import CalendarOverride, WorkCalendar
from .signals import calendar_changed

MAX_OVERRIDE_DAYS = 366


def _locked_calendar(tenant: Tenant) -> WorkCalendar:
    """The tenant's calendar row, created with the defaults if missing, locked and given a new revision: changes to
    one tenant's calendar are serialized, and every one of them is seen by the caches."""
    WorkCalendar.objects.get_or_create(tenant=tenant)
    calendar = WorkCalendar.objects.select_for_update().get(tenant=tenant)
    calendar.revision = WorkCalendar._meta.get_field("revision").get_default()
    return calendar


def _changed(tenant: Tenant) -> None:
    def after_commit() -> None:
        selectors.forget(tenant.pk)
        calendar_changed.send(sender=WorkCalendar, tenant=tenant)

    transaction.on_commit(after_commit)


def _as_domain_error(exc: ValidationError) -> DomainError:
    field, messages = next(iter(exc.message_dict.items()))
    return DomainError(messages[0], field=None if field == "__all__" else field)


def work_calendar_update(
    *,
    acting_user: User,
    tenant: Tenant,
    workdays: list[int],
    day_start: dt.time,
    day_end: dt.time,
    lunch_start: dt.time | None,
    lunch_end: dt.time | None,
    follow_china_holidays: bool,
) -> WorkCalendar:
    """Save the tenant's working week, hours, lunch break and whether China's holidays apply."""
    require_tenant_admin(acting_user, tenant)
    fields = {
        "workdays": sorted(set(workdays)),
        "day_start": day_start,
        "day_end": day_end,
        "lunch_start": lunch_start,
        "lunch_end": lunch_end,
        "follow_china_holidays": follow_china_holidays,
    }
    with transaction.atomic():
        calendar = _locked_calendar(tenant)
        changes = {}
        for name, value in fields.items():
            old = getattr(calendar, name)
            if old != value:
                changes[name] = [_plain(old), _plain(value)]
                setattr(calendar, name, value)
        try:
            calendar.full_clean(exclude=["tenant", "created_by"], validate_unique=False)
        except ValidationError as exc:
            raise _as_domain_error(exc) from exc
        calendar.save()
        if changes:
            audit(tenant=tenant, actor=acting_user, action="workcalendar.update", obj=calendar, details=changes)
            _changed(tenant)
    return calendar


def _plain(value):
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value


def calendar_override_add(
    *,
    acting_user: User,
    tenant: Tenant,
    first_day: dt.date,
    last_day: dt.date | None,
    is_working: bool,
    note: str,
) -> list[CalendarOverride]:
    """Mark one date, or every date from `first_day` to `last_day`, as worked or not, with a note. Refused whole if
    any of the dates already has an override."""
    require_tenant_admin(acting_user, tenant)
    last_day = last_day or first_day
    note = (note or "").strip()
    if last_day < first_day:
        raise DomainError(_("The last date must not be before the first."), field="last_day")
    days = (last_day - first_day).days + 1
    if days > MAX_OVERRIDE_DAYS:
        raise DomainError(
            _("Add at most %(count)d days at once.") % {"count": MAX_OVERRIDE_DAYS},
            field="last_day",
        )
    dates = [first_day + dt.timedelta(days=i) for i in range(days)]
    try:
        with transaction.atomic():
            calendar = _locked_calendar(tenant)
            calendar.save(update_fields=["revision", "updated_at"])
            taken = list(
                CalendarOverride.objects.filter(tenant=tenant, day__in=dates)
                .order_by("day")
                .values_list("day", flat=True)
            )
            if taken:
                raise DomainError(_overlap_message(taken), field="first_day")
            overrides = CalendarOverride.objects.bulk_create(
                [
                    CalendarOverride(tenant=tenant, day=day, is_working=is_working, note=note, created_by=acting_user)
                    for day in dates
                ]
            )
            audit(
                tenant=tenant,
                actor=acting_user,
                action="workcalendar.override_add",
                obj=calendar,
                details={
                    "from": first_day.isoformat(),
                    "to": last_day.isoformat(),
                    "working": is_working,
                    "note": note,
                },
            )
            _changed(tenant)
    except IntegrityError as exc:
        # Only reachable if the calendar lock is bypassed; the unique (tenant, day) still holds.
        raise DomainError(_("One of these dates already has an override.")) from exc
    return overrides


def _overlap_message(taken: list[dt.date]) -> str:
    shown = ", ".join(formats.date_format(day, "SHORT_DATE_FORMAT") for day in taken[:5])
    if len(taken) > 5:
        shown += " …"
    return _("These dates already have an override; remove it first: %(dates)s") % {"dates": shown}


def calendar_override_remove(*, acting_user: User, override: CalendarOverride) -> None:
    tenant = override.tenant
    require_tenant_admin(acting_user, tenant)
    with transaction.atomic():
        calendar = _locked_calendar(tenant)
        calendar.save(update_fields=["revision", "updated_at"])
        deleted, _rows = CalendarOverride.objects.filter(pk=override.pk, tenant=tenant).delete()
        if not deleted:
            raise DomainError(_("This override was already removed."))
        audit(
            tenant=tenant,
            actor=acting_user,
            action="workcalendar.override_remove",
            obj=calendar,
            details={"day": override.day.isoformat(), "working": override.is_working, "note": override.note},
        )
        _changed(tenant)
