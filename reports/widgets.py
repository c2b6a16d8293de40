"""The managers' home-page widget: this month's won amount against the team's target, the weighted pipeline still
expected, and the funnel's win rate this quarter (a bounded number of queries)."""

from __future__ import annotations

from django.http import HttpRequest

from crm.workcalendar.selectors import local_today
from reports.selectors.forecast import forecast
from reports.selectors.scope import ReportScope, preset_bounds


def month_target(request: HttpRequest) -> dict:
    user = request.user
    start, end = preset_bounds("month", local_today(user.tenant))
    scope = ReportScope.of(user, preset="month", start=start, end=end)
    month = forecast(scope).total()
    return {"month": month, "start": start, "currency": scope.currency}
