"""Time zones by name for the pickers: "(UTC+08:00) China Standard Time — Asia/Shanghai", the common ones first,
then every zone zoneinfo knows, by offset. Offsets are those of the current moment (summer time included)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

COMMON = (
    ("Asia/Shanghai", gettext_lazy("China Standard Time")),
    ("Asia/Hong_Kong", gettext_lazy("Hong Kong Time")),
    ("Asia/Taipei", gettext_lazy("Taipei Time")),
    ("Asia/Singapore", gettext_lazy("Singapore Time")),
    ("Asia/Tokyo", gettext_lazy("Japan Standard Time")),
    ("Asia/Seoul", gettext_lazy("Korea Standard Time")),
    ("Asia/Bangkok", gettext_lazy("Indochina Time")),
    ("Asia/Kolkata", gettext_lazy("India Standard Time")),
    ("Asia/Dubai", gettext_lazy("Gulf Standard Time")),
    ("Europe/Moscow", gettext_lazy("Moscow Time")),
    ("Europe/Berlin", gettext_lazy("Central European Time")),
    ("Europe/London", gettext_lazy("UK Time")),
    ("America/New_York", gettext_lazy("US Eastern Time")),
    ("America/Los_Angeles", gettext_lazy("US Pacific Time")),
    ("Australia/Sydney", gettext_lazy("Australian Eastern Time")),
    ("UTC", gettext_lazy("Coordinated Universal Time")),
)


def _offset(name: str, now: dt.datetime) -> dt.timedelta:
    return now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or dt.timedelta(0)


def _utc(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def timezone_label(name: str, now: dt.datetime | None = None) -> str:
    """ "(UTC+08:00) China Standard Time — Asia/Shanghai" in the active language; a zone without a name of ours
    reads "(UTC+08:00) Asia/Chongqing"."""
    now = now or dt.datetime.now(dt.UTC)
    names = dict(COMMON)
    if name in names:
        return f"{_utc(_offset(name, now))} {names[name]} — {name}"
    return f"{_utc(_offset(name, now))} {name}"


def timezone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The picker's groups: the common zones, then every other zone zoneinfo knows, by offset then name."""
    now = dt.datetime.now(dt.UTC)
    common = [(name, timezone_label(name, now)) for name, _label in COMMON]
    known = {name for name, _label in COMMON}
    others = sorted(
        (name for name in zoneinfo.available_timezones() if name not in known),
        key=lambda name: (_offset(name, now), name),
    )
    return [
        (_("Common time zones"), common),
        (_("All time zones"), [(name, timezone_label(name, now)) for name in others]),
    ]
