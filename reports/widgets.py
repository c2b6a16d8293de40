"""The managers' home-page widget: this month's won amount against the team's target, the weighted pipeline still
expected to close in it (two queries)."""

from __future__ import annotations

from django.http import HttpRequest

from crm.workcalendar.selectors import local_today
from reports.selectors.forecast import month_summary
from reports.selectors.scope import ReportScope, preset_bounds


def month_target(request: HttpRequest) -> dict:
    user = request.user
    start, end = preset_bounds("month", local_today(user.tenant))
    scope = ReportScope.of(user, preset="month", start=start, end=end)
    month = month_summary(scope)
    return {"month": month, "start": start, "currency": scope.currency}
