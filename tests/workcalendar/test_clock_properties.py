"""Property tests: add_business_minutes and business_minutes_between are inverse, monotonic, and land in working
time, for a China-calendar tenant with a lunch break and for a DST tenant, over a span that crosses the Spring
Festival, the new year and a year China's calendar does not cover yet."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.workcalendar import selectors
from crm.workcalendar.models import CalendarOverride, WorkCalendar
from crm.workcalendar.selectors import add_business_minutes, business_minutes_between, is_working_day

from ..factories import TenantFactory

SPAN_START = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
SPAN_SECONDS = int(dt.timedelta(days=500).total_seconds())
# Derandomized: the same examples every run, so the suite stays deterministic.
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

instants = st.integers(min_value=0, max_value=SPAN_SECONDS).map(lambda s: SPAN_START + dt.timedelta(seconds=s))
minutes = st.integers(min_value=0, max_value=60 * 24 * 200)


@pytest.fixture(params=["Asia/Shanghai", "America/New_York"])
def tenant(request, db):
    tenant = TenantFactory(timezone=request.param)
    if request.param == "America/New_York":
        WorkCalendar.objects.create(
            tenant=tenant,
            day_start=dt.time(8, 30),
            day_end=dt.time(17),
            lunch_start=dt.time(12),
            lunch_end=dt.time(12, 45),
            follow_china_holidays=False,
        )
        CalendarOverride.objects.create(tenant=tenant, day=dt.date(2026, 7, 3), is_working=False, note="July 4th")
    selectors.forget(tenant.pk)
    return tenant


def _in_working_time(tenant, value: dt.datetime) -> bool:
    calendar = selectors.business_calendar(tenant)
    local = value.astimezone(tenant.tzinfo)
    if not is_working_day(tenant, local.date()):
        return False
    return any(start < local.time() <= end for start, end in calendar.periods())


@PROPERTY_SETTINGS
@given(start=instants, m=minutes)
def test_between_undoes_add(tenant, start, m):
    end = add_business_minutes(tenant, start, m)
    assert end >= start
    assert business_minutes_between(tenant, start, end) == m
    assert business_minutes_between(tenant, end, start) == -m
    if m > 0:
        assert _in_working_time(tenant, end)


@PROPERTY_SETTINGS
@given(start=instants, m=minutes)
def test_subtracting_undoes_adding(tenant, start, m):
    earlier = add_business_minutes(tenant, start, -m)
    assert earlier <= start
    assert business_minutes_between(tenant, earlier, start) == m


@PROPERTY_SETTINGS
@given(a=instants, b=instants)
def test_add_undoes_between(tenant, a, b):
    a, b = min(a, b), max(a, b)
    m = business_minutes_between(tenant, a, b)
    reached = add_business_minutes(tenant, a, m)
    # Whole minutes: the clock reaches b's minute no later than b, and no business minute lies between.
    assert reached <= b
    assert business_minutes_between(tenant, reached, b) == 0
    assert business_minutes_between(tenant, a, reached) == m


@PROPERTY_SETTINGS
@given(start=instants, m1=minutes, m2=minutes)
def test_add_is_monotonic_and_additive(tenant, start, m1, m2):
    first = add_business_minutes(tenant, start, m1)
    assert add_business_minutes(tenant, first, m2) == add_business_minutes(tenant, start, m1 + m2) or m1 == 0
    low, high = sorted((m1, m2))
    assert add_business_minutes(tenant, start, low) <= add_business_minutes(tenant, start, high)
