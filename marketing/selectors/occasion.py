"""Which occasions fall on a local day: birthdays (Gregorian and lunar) and a campaign's holiday.

The rules, one place for the job, the preview and the help texts:
- a Gregorian birthday on 29 February is greeted on 28 February in years without a 29 February;
- a lunar birthday on the 30th is greeted on the 29th of a lunar month that has only 29 days;
- a lunar birthday in a leap month (闰月) is greeted in the leap month when the year has it, else in the ordinary
  month of that number; an ordinary-month birthday is greeted in the ordinary month only;
- a lunar occasion belongs to its lunar year (a lunar 12th month may fall in the next Gregorian January), a
  Gregorian one to its Gregorian year: greetings are unique per campaign, contact and that year.
Lunar dates come from the `lunardate` package (1900–2099); China's public holidays from `chinesecalendar`, which
knows the years its release has published: for a later year a statutory-holiday campaign has no date and says so.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

import chinese_calendar
from django.utils.translation import gettext_lazy as _
from lunardate import LunarDate

from crm.workcalendar.selectors import HOLIDAY_NAMES, china_knows

# Lunar holidays offered as presets for holiday campaigns: (month, day).
LUNAR_HOLIDAYS = {
    "spring_festival": (_("Spring Festival (春节)"), 1, 1),
    "lantern": (_("Lantern Festival (元宵)"), 1, 15),
    "dragon_boat": (_("Dragon Boat Festival (端午)"), 5, 5),
    "qixi": (_("Qixi (七夕)"), 7, 7),
    "mid_autumn": (_("Mid-autumn Festival (中秋)"), 8, 15),
    "double_ninth": (_("Double Ninth (重阳)"), 9, 9),
}


def statutory_holiday_choices() -> list[tuple[str, object]]:
    return [(h.value, HOLIDAY_NAMES.get(h.value, h.value)) for h in chinese_calendar.Holiday]


def lunar_month_days(year: int, month: int, leap: bool) -> int:
    try:
        LunarDate(year, month, 30, leap).to_solar_date()
    except ValueError:
        return 29
    return 30


@dataclass(frozen=True)
class LunarDay:
    year: int
    month: int
    day: int
    leap: bool
    # The lunar days of the month greeted today: the day itself, and the 30th on the 29th of a short month.
    days: tuple[int, ...] = field(default=())
    # Whether contacts born in a leap month of this number are greeted in this (ordinary) month: the year has no
    # such leap month.
    leap_born_here: bool = False


def lunar_day(day: dt.date) -> LunarDay:
    lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    leap = bool(lunar.is_leap_month)
    days = (lunar.day,)
    if lunar.day == 29 and lunar_month_days(lunar.year, lunar.month, leap) == 29:
        days = (29, 30)
    leap_born_here = not leap and LunarDate.leap_month_for_year(lunar.year) != lunar.month
    return LunarDay(lunar.year, lunar.month, lunar.day, leap, days, leap_born_here)


def gregorian_birthdays_on(day: dt.date) -> tuple[int, tuple[int, ...]]:
    """(month, days): the Gregorian birthdays greeted on `day`."""
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        return 2, (28, 29)
    return day.month, (day.day,)


@dataclass(frozen=True)
class Occasion:
    """A campaign's occasion on a day: whether it is today, the greeting year, or why it has no date."""

    due: bool
    year: int = 0
    warning: object = ""


def statutory_first_day(name: str, year: int) -> dt.date | None:
    days = sorted(d for d, holiday in chinese_calendar.holidays.items() if d.year == year and holiday == name)
    return days[0] if days else None


def holiday_on(campaign, day: dt.date) -> Occasion:
    """Whether a holiday or one-off campaign's occasion falls on `day`, and the year its greetings belong to."""
    kind = campaign.DateKind
    if campaign.kind == campaign.Kind.ONE_OFF:
        return Occasion(campaign.send_on == day, day.year)
    if campaign.date_kind == kind.LUNAR:
        lunar = lunar_day(day)
        due = not lunar.leap and lunar.month == campaign.month and campaign.day in lunar.days
        return Occasion(due, lunar.year)
    if campaign.date_kind == kind.STATUTORY:
        if not china_knows(day.year):
            return Occasion(
                False,
                day.year,
                _(
                    "China's public holidays of %(year)s are not known yet (the chinesecalendar package knows them "
                    "up to its last release): this campaign sends nothing in %(year)s until the package is upgraded."
                )
                % {"year": day.year},
            )
        return Occasion(statutory_first_day(campaign.holiday, day.year) == day, day.year)
    month, days = gregorian_birthdays_on(day)
    return Occasion(campaign.month == month and campaign.day in days, day.year)


def next_occasion(campaign, start: dt.date, horizon_days: int = 400) -> dt.date | None:
    """The first day on or after `start` when a holiday or one-off campaign's occasion falls (None: none known)."""
    if campaign.kind == campaign.Kind.ONE_OFF:
        return campaign.send_on if campaign.send_on and campaign.send_on >= start else None
    for offset in range(horizon_days):
        day = start + dt.timedelta(days=offset)
        if holiday_on(campaign, day).due:
            return day
    return None
