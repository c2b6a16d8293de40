"""The customer, lead and task lists behind a dashboard's figure, opened with the report's filters.

The lists apply their own visibility (a rep still sees only their own records); the link only carries the period
(local days), the team with its sub-teams and the person. The records page (`reports:records`) stays the exact
breakdown of a figure; these links open the everyday lists, where the records can be worked on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

from django.urls import get_script_prefix, get_urlconf, reverse

from crm.workcalendar.selectors import local_today

from .activity import STALE_DAYS
from .scope import ReportScope

# figure → (list's URL name, its person parameter, fixed parameters, its period parameters or None)
LISTS = {
    "new_customers": ("customers:list", "owner", {}, ("created_from", "created_to")),
    "stale_customers": ("customers:list", "owner", {}, None),
    "leads": ("sales:lead_list", "owner", {"status": "all"}, ("created_from", "created_to")),
    "tasks_done": ("sales:task_list", "assignee", {"status": "done"}, ("done_from", "done_to")),
    "overdue_tasks": ("sales:task_list", "assignee", {"status": "overdue"}, None),
}


# The lists' paths, reversed once per URL configuration and prefix (a leaderboard links each row to three lists).
_PATHS: dict[tuple, str] = {}


def _path(name: str) -> str:
    key = (name, get_urlconf(), get_script_prefix())
    if key not in _PATHS:
        _PATHS[key] = reverse(name)
    return _PATHS[key]


def list_url(scope: ReportScope, figure: str, person=None, today: dt.date | None = None) -> str:
    """The list URL that shows the records of `figure` for `person` (or the whole scope when None)."""
    return f"{_path(LISTS[figure][0])}?{urlencode(_params(scope, figure, person, today))}"


def list_urls_per_person(scope: ReportScope, figure: str) -> Callable[[int], str]:
    """`list_url` of `figure` for one person after another (a leaderboard's rows): the parameters every row shares
    are encoded once, the person's id appended (the person comes last, as in `list_url`)."""
    person_param = LISTS[figure][1]
    shared = f"{_path(LISTS[figure][0])}?{urlencode(_params(scope, figure, None, None, person_free=True))}"
    joiner = "&" if not shared.endswith("?") else ""
    return lambda pk: f"{shared}{joiner}{person_param}={pk}"


def _params(scope: ReportScope, figure: str, person, today: dt.date | None, *, person_free=False) -> dict[str, str]:
    _name, person_param, fixed, period = LISTS[figure]
    params: dict[str, str] = dict(fixed)
    if period is not None:
        params[period[0]] = scope.period.start.isoformat()
        params[period[1]] = scope.period.end.isoformat()
    if figure == "stale_customers":
        day = (today or local_today(scope.tenant)) - dt.timedelta(days=STALE_DAYS)
        params["quiet_since"] = day.isoformat()
    if scope.team is not None:
        params["team"] = str(scope.team.pk)
    if person_free:
        return params
    person = person if person is not None else scope.rep
    if person is not None:
        params[person_param] = str(person.pk)
    return params
