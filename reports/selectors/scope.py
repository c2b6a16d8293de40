"""Whose figures a report counts, and over which days.

Visibility is never decided here: opportunities come from `Opportunity.objects.visible_to(user)` and people from
`crm.access.sales_assignable_users(user)` (an admin everyone, a manager their team tree and themself, a rep only
themself); the filters (team with its sub-teams, rep, pipeline) only narrow those."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.access import sales_assignable_users
from crm.models import Team, User
from customers.selectors.health import Period
from sales.models import Opportunity, Pipeline

PERIOD_PRESETS = (
    ("week", _("This week")),
    ("month", _("This month")),
    ("quarter", _("This quarter")),
    ("year", _("This year")),
    ("last_week", _("Last week")),
    ("last_month", _("Last month")),
    ("last_12", _("Last 12 months")),
    ("custom", pgettext_lazy("period", "Custom")),
)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def preset_bounds(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a period preset around `today` (weeks start on Monday)."""
    if preset == "week":
        start = today - dt.timedelta(days=today.weekday())
        return start, start + dt.timedelta(days=6)
    if preset == "last_week":
        start = today - dt.timedelta(days=today.weekday() + 7)
        return start, start + dt.timedelta(days=6)
    if preset == "quarter":
        start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        return start, add_months(start, 3) - dt.timedelta(days=1)
    if preset == "year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    if preset == "last_month":
        start = add_months(today, -1)
        return start, month_start(today) - dt.timedelta(days=1)
    if preset == "last_12":
        return add_months(today, -11), add_months(today, 1) - dt.timedelta(days=1)
    start = month_start(today)
    return start, add_months(start, 1) - dt.timedelta(days=1)


def whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """[first, after): the months lying wholly in the days from `start` to `end` (first == after when none does)."""
    first = start if start.day == 1 else add_months(start, 1)
    after = month_start(end + dt.timedelta(days=1))
    return first, max(first, after)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months from `start`'s to `end`'s, both included."""
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(frozen=True)
class ReportScope:
    user: User
    preset: str
    period: Period
    team: Team | None = None
    rep: User | None = None
    pipeline: Pipeline | None = None

    @classmethod
    def of(cls, user, *, preset, start, end, team=None, rep=None, pipeline=None) -> ReportScope:
        return cls(user, preset, Period.of(user.tenant, start, end), team, rep, pipeline)

    @property
    def tenant(self):
        return self.user.tenant

    @property
    def currency(self) -> str:
        return self.user.tenant.currency

    def params(self) -> dict[str, str]:
        """The URL parameters that reproduce this scope."""
        params = {"period": self.preset}
        if self.preset == "custom":
            params.update(start=self.period.start.isoformat(), end=self.period.end.isoformat())
        if self.team is not None:
            params["team"] = str(self.team.pk)
        if self.rep is not None:
            params["rep"] = str(self.rep.pk)
        if self.pipeline is not None:
            params["pipeline"] = str(self.pipeline.pk)
        return params

    def _narrow(self, qs: QuerySet, person: str) -> QuerySet:
        if self.team is not None:
            qs = qs.filter(**{f"{person}__team__path__startswith": self.team.path})
        if self.rep is not None:
            qs = qs.filter(**{f"{person}_id": self.rep.pk})
        return qs

    def opportunities(self, *, pipeline: bool = True) -> QuerySet[Opportunity]:
        """The opportunities the user sees, narrowed to the team, rep and (unless asked not to) pipeline."""
        qs = self._narrow(Opportunity.objects.visible_to(self.user), "owner")
        if pipeline and self.pipeline is not None:
            qs = qs.filter(pipeline_id=self.pipeline.pk)
        return qs

    def people(self) -> QuerySet[User]:
        """The colleagues whose own figures the user sees, narrowed to the team and rep."""
        qs = sales_assignable_users(self.user)
        if self.team is not None:
            qs = qs.filter(team__path__startswith=self.team.path)
        if self.rep is not None:
            qs = qs.filter(pk=self.rep.pk)
        return qs

    def people_ids(self) -> QuerySet:
        return self.people().order_by().values("pk")
