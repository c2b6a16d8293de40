"""The dashboards (funnel, forecast, team performance, activity), one rep's trend, the records behind each figure,
and each dashboard as a PDF."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy

from crm.forms import QueryForm
from crm.registry import registry
from crm.selectors.exchange_rate import ConvertedSum
from crm.web import paginate, tenant_required
from crm.workcalendar.selectors import local_today
from reports import exports
from reports.access import get_rep_for_user, require_reports
from reports.forms.filters import ReportFilterForm
from reports.models import Dashboard
from reports.pdf import dashboard_pdf, pdf_filename
from reports.selectors.dashboard import DEFAULT_PERIODS, ID_FIELDS, dashboard_data
from reports.selectors.forecast import COMMIT_PROBABILITY
from reports.selectors.performance import rep_trend
from reports.selectors.records import METRICS, records
from reports.selectors.scope import ReportScope, preset_bounds
from reports.services.report_file import report_file_request, sync_limit
from sales.models import Stage

TEMPLATES = {
    Dashboard.FUNNEL: "reports/funnel.html",
    Dashboard.FORECAST: "reports/forecast.html",
    Dashboard.TEAM: "reports/team.html",
    Dashboard.ACTIVITY: "reports/activity.html",
}


def report_figures(user, scope: ReportScope | None) -> list[dict]:
    """The figures other apps registered (crm.registry.ReportFigure) over the dashboard's period, those with a
    value for this user."""
    if scope is None:
        return []
    shown = []
    for figure in registry.report_figures_for(user):
        value = figure.value(user, scope.period.start_at, scope.period.end_at)
        if value is not None:
            shown.append({"figure": figure, "value": value})
    return shown


def _render_dashboard(request: HttpRequest, dashboard: str) -> HttpResponse:
    require_reports(request.user)
    data = dashboard_data(request.user, dashboard, request.GET)
    if data.bad_ids:
        raise Http404
    context = {
        "data": data,
        "form": data.form,
        "scope": data.scope,
        "report": data.report,
        "dashboard": dashboard,
        "dashboards": Dashboard.choices,
        "commit_probability": COMMIT_PROBABILITY,
        "figures": report_figures(request.user, data.scope),
    }
    return render(request, TEMPLATES[dashboard], context, status=422 if data.report is None else 200)


@tenant_required
def funnel_view(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request, Dashboard.FUNNEL)


@tenant_required
def forecast_view(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request, Dashboard.FORECAST)


@tenant_required
def team_view(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request, Dashboard.TEAM)


@tenant_required
def activity_view(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request, Dashboard.ACTIVITY)


def _queue_if_large(request: HttpRequest, dashboard: str, fmt: str) -> HttpResponse | None:
    """Over more opportunities in scope than the direct-download limit, queue the file as a job and open its
    progress page; None when the scope is small (or the filters are not valid, which the direct path reports)."""
    form = ReportFilterForm(request.GET, user=request.user, default_period=DEFAULT_PERIODS[dashboard])
    if not form.is_valid():
        return None
    if not form.scope().opportunities().order_by()[: sync_limit() + 1].count() > sync_limit():
        return None
    report_file = report_file_request(
        acting_user=request.user, dashboard=dashboard, fmt=fmt, query=request.GET.urlencode()
    )
    return redirect("reports:file", pk=report_file.pk)


@tenant_required
def dashboard_pdf_view(request: HttpRequest) -> HttpResponse:
    """The dashboard named by `dashboard` (with the page's filters) as a PDF download."""
    require_reports(request.user)
    dashboard = request.GET.get("dashboard", "")
    if dashboard not in TEMPLATES:
        raise Http404
    if queued := _queue_if_large(request, dashboard, "pdf"):
        return queued
    data = dashboard_data(request.user, dashboard, request.GET)
    if data.bad_ids:
        raise Http404
    if data.report is None:
        return _render_dashboard(request, dashboard)
    response = HttpResponse(dashboard_pdf(data, user=request.user), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(data)}"'
    return response


@tenant_required
def dashboard_export_view(request: HttpRequest) -> HttpResponse:
    """The dashboard's tables as CSV or XLSX (`format`), with the page's filters."""
    require_reports(request.user)
    dashboard, fmt = request.GET.get("dashboard", ""), request.GET.get("format", "csv")
    if dashboard not in TEMPLATES or fmt not in exports.CONTENT_TYPES:
        raise Http404
    if queued := _queue_if_large(request, dashboard, fmt):
        return queued
    data = dashboard_data(request.user, dashboard, request.GET)
    if data.bad_ids:
        raise Http404
    if data.report is None:
        return _render_dashboard(request, dashboard)
    body = exports.write_xlsx(data) if fmt == "xlsx" else exports.write_csv(data)
    response = HttpResponse(body, content_type=exports.CONTENT_TYPES[fmt])
    filename = pdf_filename(data).removesuffix(".pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


@tenant_required
def rep_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's last twelve months: won amount and deals, follow-ups, new customers."""
    rep = get_rep_for_user(request.user, pk)
    today = local_today(request.user.tenant)
    start, end = preset_bounds("last_12", today)
    scope = ReportScope.of(request.user, preset="last_12", start=start, end=end)
    conversion = ConvertedSum(scope.currency)
    trend = rep_trend(scope, rep, note=conversion)
    chart = {
        "labels": [row.month.strftime("%Y-%m") for row in trend],
        "values": [float(row.won_amount) for row in trend],
    }
    context = {
        "rep": rep,
        "trend": trend,
        "chart": chart,
        "scope": scope,
        "dashboard": "team",
        "conversion": conversion,
    }
    return render(request, "reports/rep.html", context)


class RecordsForm(QueryForm):
    metric = forms.ChoiceField(choices=[(k, v[0]) for k, v in METRICS.items()])
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)
    month = forms.DateField(required=False, input_formats=["%Y-%m", "%Y-%m-%d"])
    reason = forms.CharField(required=False, max_length=300, label=gettext_lazy("Reason"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(tenant_id=user.tenant_id)


@tenant_required
def records_view(request: HttpRequest) -> HttpResponse:
    """The records behind one figure, with the dashboard's filters: only what the figure counted for this user."""
    require_reports(request.user)
    form = RecordsForm(request.GET, user=request.user)
    if not form.is_valid():
        if "stage" in form.errors:
            raise Http404
        return render(request, "reports/records.html", {"form": form, "page": None}, status=422)
    filters = ReportFilterForm(request.GET, user=request.user)
    if not filters.is_valid():
        if any(name in filters.errors for name in ID_FIELDS):
            raise Http404
        return render(request, "reports/records.html", {"form": filters, "page": None}, status=422)
    scope = filters.scope()
    metric = form.cleaned_data["metric"]
    month = form.cleaned_data.get("month")
    qs = records(
        scope,
        metric,
        stage=form.cleaned_data.get("stage"),
        month=month.replace(day=1) if isinstance(month, dt.date) else None,
        reason=form.cleaned_data.get("reason") or "",
    )
    label, kind = METRICS[metric]
    context = {
        "form": form,
        "page": paginate(request, qs),
        "metric": metric,
        "label": label,
        "kind": kind,
        "scope": scope,
        "stage": form.cleaned_data.get("stage"),
        "month": month,
        "reason": form.cleaned_data.get("reason"),
        "dashboard": "records",
    }
    return render(request, "reports/records.html", context)
