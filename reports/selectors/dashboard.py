"""What each dashboard shows, built the same way for the page, its PDF and the scheduled email: parse the filters
(scoped to the user), compute the figures, and the small charts drawn server-side for the PDF."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import QueryDict

from reports.forms.filters import ReportFilterForm, scope_query
from reports.models import Dashboard
from reports.selectors.activity import activity
from reports.selectors.forecast import forecast
from reports.selectors.funnel import funnel
from reports.selectors.performance import performance
from reports.selectors.scope import ReportScope

# The period each dashboard opens with.
DEFAULT_PERIODS = {
    Dashboard.FUNNEL: "quarter",
    Dashboard.FORECAST: "quarter",
    Dashboard.TEAM: "month",
    Dashboard.ACTIVITY: "month",
}

BUILDERS = {
    Dashboard.FUNNEL: funnel,
    Dashboard.FORECAST: forecast,
    Dashboard.TEAM: performance,
    Dashboard.ACTIVITY: activity,
}

# Fields whose invalid value means "not yours or not there": answered 404, as for an id in the path.
ID_FIELDS = ("team", "rep", "pipeline")


@dataclass
class DashboardData:
    dashboard: str
    form: ReportFilterForm
    scope: ReportScope | None
    report: object | None

    @property
    def query(self) -> str:
        return scope_query(self.scope) if self.scope else ""

    @property
    def bad_ids(self) -> bool:
        return any(name in self.form.errors for name in ID_FIELDS)


def dashboard_data(user, dashboard: str, params: QueryDict | dict | None) -> DashboardData:
    form = ReportFilterForm(params or None, user=user, default_period=DEFAULT_PERIODS[dashboard])
    if form.is_bound and not form.is_valid():
        return DashboardData(dashboard, form, None, None)
    scope = form.scope()
    return DashboardData(dashboard, form, scope, BUILDERS[dashboard](scope))


def svg_bars(labels: list[str], values: list[float], *, marks: list[float | None] | None = None) -> dict:
    """A horizontal bar chart as plain numbers for the PDF's SVG (no browser): each bar's width in percent of the
    largest value (or mark, e.g. a target)."""
    marks = marks or [None] * len(values)
    peak = max([float(v or 0) for v in values] + [float(m or 0) for m in marks] + [0.0])
    bars = []
    for index, (label, value, mark) in enumerate(zip(labels, values, marks, strict=True)):
        bars.append(
            {
                "label": label,
                "value": value,
                "width": round(100 * float(value or 0) / peak, 2) if peak else 0,
                "mark": round(100 * float(mark) / peak, 2) if peak and mark is not None else None,
                "y": index * 22,
            }
        )
    return {"bars": bars, "height": max(len(bars) * 22, 22)}


def pdf_chart(data: DashboardData) -> dict | None:
    report = data.report
    if report is None:
        return None
    if data.dashboard == Dashboard.FUNNEL:
        chart = report.chart()
        return svg_bars(chart["labels"], chart["values"])
    if data.dashboard == Dashboard.FORECAST:
        chart = report.chart()
        expected = [Decimal(str(w)) + Decimal(str(v)) for w, v in zip(chart["won"], chart["weighted"], strict=True)]
        return svg_bars(chart["labels"], [float(e) for e in expected], marks=chart["target"])
    chart = report.chart()
    return svg_bars(chart["labels"], chart["values"])
