"""Reads of the working calendar: the tenant's local days, working days, and the business clock.

One home for each: `local_today`, `local_midnight`, `local_datetime`, `local_day_bounds`, `is_working_day`, `add_business_minutes`,
`business_minutes_between`, `calendar_days` (the settings page's preview).

How a day is decided, first rule that speaks wins: the tenant's override for that date; China's statutory
holidays and make-up working days (调休) from the `chinesecalendar` package, when the tenant follows them and the
package knows the year; the tenant's working week. For a year the package does not know yet (it covers 2004 to
its release's last published year), only the overrides and the working week apply, and `Day.china_unknown` says
so, so the settings page can ask the admin to add that year's holidays as overrides.

The business clock counts real elapsed time inside working hours (local wall-clock hours of working days, less the
lunch break), so it is right across DST changes. A tenant's calendar is precomputed per year into sorted UTC
intervals with a running total, so adding or measuring business time is two binary searches, whatever the span.
Calendars are cached per process (`business_calendar`): the cache is keyed by the tenant's id, creation time and
time zone, and revalidated against `WorkCalendar.revision` (which every change of the calendar or of its overrides
renews) at most every REFRESH_SECONDS; the process that made a change forgets its copy when the change commits.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
import zoneinfo
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import chinese_calendar
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant

from .models import (
    DEFAULT_DAY_END,
    DEFAULT_DAY_START,
    DEFAULT_LUNCH_END,
    DEFAULT_LUNCH_START,
    CalendarOverride,
    WorkCalendar,
    default_workdays,
)

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = dt.timedelta(microseconds=1)
MINUTE_US = 60_000_000
REFRESH_SECONDS = 5.0
# add_business_minutes gives up after this many calendar years without reaching the target.
MAX_YEARS = 100

# chinesecalendar's holiday names (its Holiday enum's English values), translated for the preview.
HOLIDAY_NAMES = {
    "New Year's Day": _("New Year's Day"),
    "Spring Festival": _("Spring Festival"),
    "Tomb-sweeping Day": _("Tomb-sweeping Day"),
    "Labour Day": _("Labour Day"),
    "Dragon Boat Festival": _("Dragon Boat Festival"),
    "National Day": _("National Day"),
    "Mid-autumn Festival": _("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _("Victory Day (70th anniversary)"),
}

CHINA_FIRST_YEAR = min(chinese_calendar.holidays).year
CHINA_LAST_YEAR = max(chinese_calendar.holidays).year


def china_knows(year: int) -> bool:
    """Whether the installed chinesecalendar package has China's holidays for `year`."""
    return CHINA_FIRST_YEAR <= year <= CHINA_LAST_YEAR


# --- local days ----------------------------------------------------------------------------------------------


def local_today(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    """The tenant's local date at `now` (default: the present)."""
    return timezone.localtime(now or timezone.now(), tenant.tzinfo).date()


def local_datetime(tenant: Tenant, day: dt.date, at: dt.time = dt.time.min) -> dt.datetime:
    """The instant when the tenant's wall clock shows `at` on `day`. A time skipped by a DST change is read with the
    offset before the change (02:30 on a spring-forward night is 03:30 summer time); an hour that repeats, its first
    occurrence."""
    return _local(tenant.tzinfo, day, at)


def local_midnight(tenant: Tenant, day: dt.date) -> dt.datetime:
    """The instant the tenant's local `day` begins."""
    return _local(tenant.tzinfo, day, dt.time.min)


def user_today(user, now: dt.datetime | None = None) -> dt.date:
    """The user's own local date at `now` (their time zone, else their company's): "today" of a rep's own views.
    Jobs that run per company keep `local_today`."""
    return timezone.localtime(now or timezone.now(), user.tzinfo).date()


def user_day_bounds(user, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of `day` in the user's own time zone."""
    return _local(user.tzinfo, day, dt.time.min), _local(user.tzinfo, day + dt.timedelta(days=1), dt.time.min)


def local_day_bounds(tenant: Tenant, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the tenant's local `day` (23 or 25 hours long on a DST change)."""
    return local_midnight(tenant, day), local_midnight(tenant, day + dt.timedelta(days=1))


def _local(tz: dt.tzinfo, day: dt.date, at: dt.time) -> dt.datetime:
    # The round trip through UTC makes the wall-clock reading consistent with the offset (for skipped times).
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


# --- days ----------------------------------------------------------------------------------------------------


class DayKind:
    WORKDAY = "workday"  # a day of the working week
    REST = "rest"  # not in the working week (weekends, usually)
    HOLIDAY = "holiday"  # China's statutory holiday
    MAKEUP = "makeup"  # China's make-up working day (调休)
    COMPANY_REST = "company_rest"  # the tenant's override: closed that day
    COMPANY_WORK = "company_work"  # the tenant's override: working that day


@dataclass(frozen=True)
class Day:
    day: dt.date
    is_working: bool
    kind: str
    holiday: str = ""  # chinesecalendar's holiday name, for HOLIDAY and MAKEUP
    note: str = ""  # the override's note
    china_unknown: bool = False  # the tenant follows China's holidays but the package has no data for this year

    @property
    def reason(self) -> str:
        name = HOLIDAY_NAMES.get(self.holiday, self.holiday)
        if self.kind == DayKind.HOLIDAY:
            return str(_("Statutory holiday: %(name)s") % {"name": name})
        if self.kind == DayKind.MAKEUP:
            return str(_("Make-up working day (调休) for %(name)s") % {"name": name})
        if self.kind == DayKind.COMPANY_REST:
            return str(_("Company holiday")) + (f": {self.note}" if self.note else "")
        if self.kind == DayKind.COMPANY_WORK:
            return str(_("Working day set by the company")) + (f": {self.note}" if self.note else "")
        if self.kind == DayKind.REST:
            return str(_("Not in the working week"))
        return str(_("Working day"))


# --- the business clock --------------------------------------------------------------------------------------


@dataclass
class _Year:
    """A year's working intervals as UTC microseconds, sorted, with the business time done by each one's end."""

    starts: list[int]
    ends: list[int]
    done: list[int]

    @property
    def total(self) -> int:
        return self.done[-1] if self.done else 0

    def done_at(self, t: int) -> int:
        """Business time of this year elapsed at instant `t`."""
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.done[i] - (self.ends[i] - self.starts[i]) + min(t, self.ends[i]) - self.starts[i]

    def first_instant(self, target: int) -> int:
        """The first instant at which `target` (0 < target <= total) has elapsed: a deadline ending exactly at a
        break falls at the break's start (12:00, not 13:30)."""
        i = bisect_left(self.done, target)
        return self.ends[i] - (self.done[i] - target)

    def last_instant(self, target: int) -> int:
        """The last instant at which `target` (0 <= target <= total) has elapsed, inside or at the start of a
        working interval (going backwards from 13:30 by nothing stays at 13:30)."""
        i = bisect_right(self.done, target)
        if i == len(self.done):
            return self.ends[-1]
        return self.ends[i] - (self.done[i] - target)


class NoWorkingTime(ValueError):
    """The calendar has no working time in the span searched."""


@dataclass
class BusinessCalendar:
    """A tenant's calendar, loaded once; its year tables are computed on first use."""

    tz: zoneinfo.ZoneInfo
    workdays: frozenset[int]
    day_start: dt.time
    day_end: dt.time
    lunch_start: dt.time | None
    lunch_end: dt.time | None
    follow_china: bool
    overrides: dict[dt.date, tuple[bool, str]]
    revision: uuid.UUID | None = None
    _years: dict[int, _Year] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, tenant: Tenant) -> BusinessCalendar:
        """Two queries: the settings (defaults where the tenant saved none) and the overrides."""
        settings = WorkCalendar.objects.filter(tenant_id=tenant.pk).first()
        overrides = {
            day: (working, note)
            for day, working, note in CalendarOverride.objects.filter(tenant_id=tenant.pk).values_list(
                "day", "is_working", "note"
            )
        }
        if settings is None:
            return cls(
                tz=tenant.tzinfo,
                workdays=frozenset(default_workdays()),
                day_start=DEFAULT_DAY_START,
                day_end=DEFAULT_DAY_END,
                lunch_start=DEFAULT_LUNCH_START,
                lunch_end=DEFAULT_LUNCH_END,
                follow_china=True,
                overrides=overrides,
            )
        return cls(
            tz=tenant.tzinfo,
            workdays=frozenset(settings.workdays),
            day_start=settings.day_start,
            day_end=settings.day_end,
            lunch_start=settings.lunch_start,
            lunch_end=settings.lunch_end,
            follow_china=settings.follow_china_holidays,
            overrides=overrides,
            revision=settings.revision,
        )

    # days

    def day(self, day: dt.date) -> Day:
        override = self.overrides.get(day)
        if override is not None:
            working, note = override
            return Day(day, working, DayKind.COMPANY_WORK if working else DayKind.COMPANY_REST, note=note)
        china_unknown = False
        if self.follow_china:
            if china_knows(day.year):
                if day in chinese_calendar.workdays:
                    return Day(day, True, DayKind.MAKEUP, holiday=chinese_calendar.workdays[day])
                if day in chinese_calendar.holidays:
                    return Day(day, False, DayKind.HOLIDAY, holiday=chinese_calendar.holidays[day])
            else:
                china_unknown = True
        if day.weekday() in self.workdays:
            return Day(day, True, DayKind.WORKDAY, china_unknown=china_unknown)
        return Day(day, False, DayKind.REST, china_unknown=china_unknown)

    def periods(self) -> list[tuple[dt.time, dt.time]]:
        if self.lunch_start is not None and self.lunch_end is not None:
            return [(self.day_start, self.lunch_start), (self.lunch_end, self.day_end)]
        return [(self.day_start, self.day_end)]

    def year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = self._build_year(year)
        return table

    def _build_year(self, year: int) -> _Year:
        starts: list[int] = []
        ends: list[int] = []
        done: list[int] = []
        total = 0
        periods = self.periods()
        day = dt.date(year, 1, 1)
        one_day = dt.timedelta(days=1)
        while day.year == year:
            if self.day(day).is_working:
                for begin, end in periods:
                    s = _us(_local(self.tz, day, begin))
                    e = _us(_local(self.tz, day, end))
                    if starts and s < ends[-1]:
                        s = ends[-1]  # a repeated hour cannot count twice
                    if e > s:
                        starts.append(s)
                        ends.append(e)
                        total += e - s
                        done.append(total)
            day += one_day
        return _Year(starts, ends, done)

    # arithmetic in microseconds

    def add(self, start: dt.datetime, delta: int) -> dt.datetime:
        local_start = start.astimezone(self.tz)
        if delta == 0:
            return local_start
        year = local_start.year
        table = self.year(year)
        target = table.done_at(_us(start)) + delta
        scanned = 0
        if delta > 0:
            while target > table.total:
                target -= table.total
                year, scanned = year + 1, scanned + 1
                if scanned > MAX_YEARS:
                    raise NoWorkingTime(f"no working time within {MAX_YEARS} years")
                table = self.year(year)
            return _from_us(table.first_instant(target), self.tz)
        while target < 0 or not table.done:
            year, scanned = year - 1, scanned + 1
            if scanned > MAX_YEARS:
                raise NoWorkingTime(f"no working time within {MAX_YEARS} years")
            table = self.year(year)
            target += table.total
        return _from_us(table.last_instant(target), self.tz)

    def between(self, a: dt.datetime, b: dt.datetime) -> int:
        if _us(b) < _us(a):
            return -self.between(b, a)
        year_a, year_b = a.astimezone(self.tz).year, b.astimezone(self.tz).year
        first = self.year(year_a)
        if year_a == year_b:
            return first.done_at(_us(b)) - first.done_at(_us(a))
        total = first.total - first.done_at(_us(a))
        for year in range(year_a + 1, year_b):
            total += self.year(year).total
        return total + self.year(year_b).done_at(_us(b))


def _us(value: dt.datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("The business clock needs aware datetimes.")
    return (value - EPOCH) // MICROSECOND


def _from_us(value: int, tz: dt.tzinfo) -> dt.datetime:
    return (EPOCH + dt.timedelta(microseconds=value)).astimezone(tz)


_cache: dict[tuple, tuple[float, uuid.UUID | None, BusinessCalendar]] = {}


def business_calendar(tenant: Tenant, *, fresh: bool = False) -> BusinessCalendar:
    """The tenant's calendar from this process's cache; `fresh` loads it from the database (settings pages)."""
    key = (tenant.pk, tenant.created_at, tenant.timezone)
    now = time.monotonic()
    entry = None if fresh else _cache.get(key)
    if entry is not None and now - entry[0] < REFRESH_SECONDS:
        return entry[2]
    if entry is not None:
        revision = WorkCalendar.objects.filter(tenant_id=tenant.pk).values_list("revision", flat=True).first()
        if revision == entry[1]:
            _cache[key] = (now, revision, entry[2])
            return entry[2]
    calendar = BusinessCalendar.load(tenant)
    _cache[key] = (now, calendar.revision, calendar)
    return calendar


def forget(tenant_id: int) -> None:
    """Drop this process's cached calendar of a tenant (its calendar or overrides changed)."""
    for key in [k for k in _cache if k[0] == tenant_id]:
        _cache.pop(key, None)


# --- the public functions ------------------------------------------------------------------------------------


def is_working_day(tenant: Tenant, day: dt.date) -> bool:
    return business_calendar(tenant).day(day).is_working


def add_business_minutes(tenant: Tenant, start: dt.datetime, minutes: float) -> dt.datetime:
    """The instant `minutes` of business time after `start` (before it, for negative minutes), in the tenant's
    time zone. A start outside working hours counts from the next working moment; a result that falls exactly at
    the end of a working interval is that end (09:00 + 3 h is 12:00 when lunch starts at 12:00)."""
    return business_calendar(tenant).add(start, round(minutes * MINUTE_US))


def business_minutes_between(tenant: Tenant, a: dt.datetime, b: dt.datetime) -> int:
    """Whole minutes of business time from `a` to `b` (negative when `b` is before `a`)."""
    elapsed = business_calendar(tenant).between(a, b)
    return elapsed // MINUTE_US if elapsed >= 0 else -(-elapsed // MINUTE_US)


def calendar_days(tenant: Tenant, start: dt.date, count: int) -> list[Day]:
    """`count` days from `start` with whether each is a working day and why (read fresh from the database)."""
    calendar = business_calendar(tenant, fresh=True)
    return [calendar.day(start + dt.timedelta(days=i)) for i in range(count)]
