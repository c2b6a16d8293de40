"""The business clock: add_business_minutes and business_minutes_between over weekends, China's holidays and make-up
days, the lunch break, starts outside hours, DST and DST-free zones, overrides, and the cache."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from crm.models import AuditEvent
from crm.workcalendar import selectors
from crm.workcalendar.models import CalendarOverride, WorkCalendar
from crm.workcalendar.selectors import (
    DayKind,
    add_business_minutes,
    business_minutes_between,
    calendar_days,
    is_working_day,
    local_datetime,
    local_midnight,
    local_today,
)
from crm.workcalendar.services import calendar_override_add, calendar_override_remove, work_calendar_update
from crm.workcalendar.signals import calendar_changed

from ..factories import TenantFactory, UserFactory

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
NY = zoneinfo.ZoneInfo("America/New_York")


def at(tz, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


@pytest.fixture
def shanghai(db):
    return TenantFactory(timezone="Asia/Shanghai")


@pytest.fixture
def new_york(db):
    tenant = TenantFactory(timezone="America/New_York")
    WorkCalendar.objects.create(tenant=tenant, lunch_start=None, lunch_end=None, follow_china_holidays=False)
    return tenant


# --- local days ----------------------------------------------------------------------------------------------


def test_local_today_midnight_and_datetime(shanghai, new_york):
    instant = at(dt.UTC, 2026, 3, 1, 17, 30)  # 01:30 on 2 March in Shanghai, 12:30 on 1 March in New York
    assert local_today(shanghai, instant) == dt.date(2026, 3, 2)
    assert local_today(new_york, instant) == dt.date(2026, 3, 1)
    assert local_midnight(shanghai, dt.date(2026, 3, 2)) == at(dt.UTC, 2026, 3, 1, 16)
    # The day DST starts in New York is 23 hours long (aware datetimes of one zone subtract as wall clocks, hence UTC).
    next_midnight = local_midnight(new_york, dt.date(2026, 3, 9)).astimezone(dt.UTC)
    assert next_midnight - local_midnight(new_york, dt.date(2026, 3, 8)).astimezone(dt.UTC) == dt.timedelta(hours=23)
    # 02:30 does not exist that night: read with the offset before the change, it is 03:30 summer time.
    skipped = local_datetime(new_york, dt.date(2026, 3, 8), dt.time(2, 30))
    assert skipped.astimezone(dt.UTC) == at(dt.UTC, 2026, 3, 8, 7, 30)
    assert (skipped.hour, skipped.minute) == (3, 30)


# --- days ----------------------------------------------------------------------------------------------------


def test_spring_festival_2026_with_its_make_up_saturdays(shanghai):
    days = {d.day: d for d in calendar_days(shanghai, dt.date(2026, 2, 13), 16)}
    assert days[dt.date(2026, 2, 13)].kind == DayKind.WORKDAY
    assert days[dt.date(2026, 2, 14)].is_working and days[dt.date(2026, 2, 14)].kind == DayKind.MAKEUP
    for n in range(15, 24):
        assert days[dt.date(2026, 2, n)].kind == DayKind.HOLIDAY and not days[dt.date(2026, 2, n)].is_working
    assert days[dt.date(2026, 2, 24)].kind == DayKind.WORKDAY
    assert days[dt.date(2026, 2, 28)].kind == DayKind.MAKEUP
    assert "Spring Festival" in days[dt.date(2026, 2, 17)].reason
    assert is_working_day(shanghai, dt.date(2026, 2, 28)) and not is_working_day(shanghai, dt.date(2026, 3, 1))


def test_china_can_be_switched_off_and_overrides_win(shanghai):
    admin = _admin(shanghai)
    work_calendar_update(
        acting_user=admin,
        tenant=shanghai,
        workdays=[0, 1, 2, 3, 4],
        day_start=dt.time(9),
        day_end=dt.time(18),
        lunch_start=None,
        lunch_end=None,
        follow_china_holidays=False,
    )
    assert is_working_day(shanghai, dt.date(2026, 2, 16))  # a Monday in the festival, worked without China's days
    assert not is_working_day(shanghai, dt.date(2026, 2, 14))  # the make-up Saturday is a plain Saturday
    calendar_override_add(
        acting_user=admin,
        tenant=shanghai,
        first_day=dt.date(2026, 2, 16),
        last_day=None,
        is_working=False,
        note="年会",
    )
    calendar_override_add(
        acting_user=admin, tenant=shanghai, first_day=dt.date(2026, 2, 14), last_day=None, is_working=True, note=""
    )
    day = calendar_days(shanghai, dt.date(2026, 2, 16), 1)[0]
    assert (day.is_working, day.kind, day.note) == (False, DayKind.COMPANY_REST, "年会")
    assert is_working_day(shanghai, dt.date(2026, 2, 14))


def test_a_year_china_has_not_published_follows_the_working_week_and_says_so(shanghai):
    missing = selectors.CHINA_LAST_YEAR + 1
    jan_first = dt.date(missing, 1, 1)
    day = calendar_days(shanghai, jan_first, 1)[0]
    assert day.china_unknown
    assert day.is_working == (jan_first.weekday() < 5)
    known = calendar_days(shanghai, dt.date(selectors.CHINA_LAST_YEAR, 1, 1), 1)[0]
    assert not known.china_unknown and known.kind == DayKind.HOLIDAY


# --- the clock -----------------------------------------------------------------------------------------------


def test_friday_evening_does_not_breach_over_the_weekend(shanghai):
    friday = at(SH, 2026, 3, 6, 17, 30)
    assert add_business_minutes(shanghai, friday, 60) == at(SH, 2026, 3, 9, 9, 30)
    assert business_minutes_between(shanghai, friday, at(SH, 2026, 3, 9, 9, 30)) == 60


def test_spring_festival_clock(shanghai):
    # Friday before the festival, 16:00: two hours that day, the make-up Saturday, then nine days off.
    friday = at(SH, 2026, 2, 13, 16)
    assert add_business_minutes(shanghai, friday, 4 * 60) == at(SH, 2026, 2, 14, 11)
    saturday_evening = at(SH, 2026, 2, 14, 17)
    assert add_business_minutes(shanghai, saturday_evening, 120) == at(SH, 2026, 2, 24, 10)
    assert business_minutes_between(shanghai, at(SH, 2026, 2, 13, 18), at(SH, 2026, 2, 24, 9)) == 450


def test_starts_outside_hours_and_the_lunch_break(shanghai):
    day = (2026, 3, 3)
    assert add_business_minutes(shanghai, at(SH, *day, 7), 30) == at(SH, *day, 9, 30)
    assert add_business_minutes(shanghai, at(SH, *day, 20), 30) == at(SH, 2026, 3, 4, 9, 30)
    assert add_business_minutes(shanghai, at(SH, *day, 12, 30), 30) == at(SH, *day, 14)
    assert add_business_minutes(shanghai, at(SH, *day, 11, 45), 30) == at(SH, *day, 13, 45)
    # A deadline that uses the morning exactly is noon, not the end of the break.
    assert add_business_minutes(shanghai, at(SH, *day, 9), 180) == at(SH, *day, 12)
    assert business_minutes_between(shanghai, at(SH, *day, 0), at(SH, *day, 23, 59)) == 450
    assert business_minutes_between(shanghai, at(SH, *day, 12, 10), at(SH, *day, 13, 20)) == 0
    # Backwards: half an hour before 13:30 is 11:30, and nothing before 13:30 stays at 13:30.
    assert add_business_minutes(shanghai, at(SH, *day, 13, 30), -30) == at(SH, *day, 11, 30)
    assert add_business_minutes(shanghai, at(SH, *day, 13, 30), 0) == at(SH, *day, 13, 30)


def test_across_the_dst_change_the_wall_clock_hours_hold(new_york):
    # DST starts on Sunday 8 March 2026 in New York: Friday 17:00 + 2 h is Monday 10:00 local (EDT).
    friday = at(NY, 2026, 3, 6, 17)
    monday = add_business_minutes(new_york, friday, 120)
    assert (monday.date(), monday.hour, monday.minute) == (dt.date(2026, 3, 9), 10, 0)
    assert monday.utcoffset() == dt.timedelta(hours=-4)
    assert business_minutes_between(new_york, friday, monday) == 120


def test_hours_that_span_the_dst_change_count_real_time(db):
    tenant = TenantFactory(timezone="Europe/Berlin")
    WorkCalendar.objects.create(
        tenant=tenant,
        workdays=list(range(7)),
        day_start=dt.time(1),
        day_end=dt.time(5),
        lunch_start=None,
        lunch_end=None,
        follow_china_holidays=False,
    )
    berlin = tenant.tzinfo
    # 29 March 2026: 02:00 becomes 03:00, so 01:00–05:00 lasts three hours; 25 October: 03:00 becomes 02:00, five.
    assert business_minutes_between(tenant, at(berlin, 2026, 3, 29), at(berlin, 2026, 3, 30)) == 180
    assert business_minutes_between(tenant, at(berlin, 2026, 10, 25), at(berlin, 2026, 10, 26)) == 300
    assert business_minutes_between(tenant, at(berlin, 2026, 10, 26), at(berlin, 2026, 10, 27)) == 240


def test_across_the_new_year_and_long_spans(shanghai):
    start = at(SH, 2025, 12, 31, 17)
    # 1 January 2026 is New Year's Day; the 2nd and 3rd are holidays, the 4th (Sunday) a make-up working day.
    assert add_business_minutes(shanghai, start, 90) == at(SH, 2026, 1, 4, 9, 30)
    a, b = at(SH, 2025, 3, 1, 10), at(SH, 2026, 11, 30, 10)
    minutes = business_minutes_between(shanghai, a, b)
    assert add_business_minutes(shanghai, a, minutes) == b
    assert business_minutes_between(shanghai, b, a) == -minutes


def test_naive_datetimes_are_refused(shanghai):
    with pytest.raises(ValueError, match="aware"):
        add_business_minutes(shanghai, dt.datetime(2026, 3, 3, 9), 10)


# --- the cache -----------------------------------------------------------------------------------------------


def _admin(tenant):
    return UserFactory(tenant=tenant, roles=["admin"])


def test_a_change_applies_at_once_in_this_process(shanghai, django_capture_on_commit_callbacks):
    start = at(SH, 2026, 3, 6, 17, 30)  # Friday
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 9, 9, 30)
    with django_capture_on_commit_callbacks(execute=True):
        override = calendar_override_add(
            acting_user=_admin(shanghai),
            tenant=shanghai,
            first_day=dt.date(2026, 3, 7),
            last_day=None,
            is_working=True,
            note="盘点",
        )[0]
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 7, 9, 30)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_override_remove(acting_user=_admin(shanghai), override=override)
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 9, 9, 30)
    assert AuditEvent.objects.filter(tenant=shanghai, action__startswith="workcalendar.override").count() == 2


def test_another_process_change_is_seen_after_the_refresh_interval(shanghai, monkeypatch):
    """A change made elsewhere (no local forget) is noticed by comparing the revision, at most every
    REFRESH_SECONDS; until then the cached calendar answers without a query."""
    start = at(SH, 2026, 3, 6, 17, 30)
    monkeypatch.setattr(selectors, "REFRESH_SECONDS", 3600)
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 9, 9, 30)
    WorkCalendar.objects.create(tenant=shanghai, workdays=[0, 1, 2, 3, 4, 5])
    CalendarOverride.objects.create(tenant=shanghai, day=dt.date(2026, 3, 9), is_working=False)
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 9, 9, 30)  # still the cached one
    monkeypatch.setattr(selectors, "REFRESH_SECONDS", 0)
    assert add_business_minutes(shanghai, start, 60) == at(SH, 2026, 3, 7, 9, 30)  # Saturdays now worked


def test_many_calls_cost_no_queries(shanghai, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr(selectors, "REFRESH_SECONDS", 3600)
    start = timezone.now()
    add_business_minutes(shanghai, start, 1)
    with django_assert_max_num_queries(0):
        for i in range(2000):
            deadline = add_business_minutes(shanghai, start, i * 7)
            business_minutes_between(shanghai, start, deadline)


def test_changes_are_announced_after_commit(shanghai, django_capture_on_commit_callbacks):
    told = []

    def receiver(sender, tenant, **kwargs):
        told.append(tenant.pk)

    calendar_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            calendar_override_add(
                acting_user=_admin(shanghai),
                tenant=shanghai,
                first_day=dt.date(2026, 3, 7),
                last_day=None,
                is_working=True,
                note="",
            )
        assert told == []  # nothing before the commit
        for callback in callbacks:
            callback()
        assert told == [shanghai.pk]
    finally:
        calendar_changed.disconnect(receiver)
