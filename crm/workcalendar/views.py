"""Settings → Working calendar: the week's hours and lunch break, China's holidays on or off, per-date overrides, and
a preview of the next 30 days."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, paginate, tenant_required

from . import access, selectors
from .filters import CalendarOverrideFilter
from .forms import CalendarOverrideForm, PreviewForm, WorkCalendarForm
from .models import CalendarOverride, WorkCalendar
from .services import calendar_override_add, calendar_override_remove, work_calendar_update

PREVIEW_DAYS = 30
OVERRIDES_PER_PAGE = 25
PARTIAL = "workcalendar/calendar/partials/overrides.html"


def _overrides_context(request: HttpRequest, override_form: CalendarOverrideForm | None = None) -> dict:
    tenant = request.tenant
    filterset = CalendarOverrideFilter(
        request.GET if "period" in request.GET else {"period": "upcoming"},
        queryset=CalendarOverride.objects.for_tenant(tenant),
        tenant=tenant,
    )
    overrides = filterset.qs if filterset.is_valid() else CalendarOverride.objects.none()
    today = selectors.local_today(tenant)
    preview_form = PreviewForm(request.GET)
    start = (preview_form.cleaned_data["start"] if preview_form.is_valid() else None) or today
    days = selectors.calendar_days(tenant, start, PREVIEW_DAYS)
    calendar = selectors.business_calendar(tenant)
    next_year = today.year + 1
    return {
        "preview_form": preview_form,
        "override_form": override_form or CalendarOverrideForm(),
        "filter": filterset,
        "page": paginate(request, overrides, OVERRIDES_PER_PAGE),
        "preview": days,
        "hours": calendar.periods(),
        "china_last_year": selectors.CHINA_LAST_YEAR,
        "china_missing_year": next_year if calendar.follow_china and not selectors.china_knows(next_year) else None,
        "preview_china_unknown": any(day.china_unknown for day in days),
    }


@admin_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    instance = WorkCalendar.objects.filter(tenant=tenant).first() or WorkCalendar(tenant=tenant)
    form = WorkCalendarForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            work_calendar_update(
                acting_user=request.user,
                tenant=tenant,
                workdays=data["workdays"],
                day_start=data["day_start"],
                day_end=data["day_end"],
                lunch_start=data["lunch_start"],
                lunch_end=data["lunch_end"],
                follow_china_holidays=data["follow_china_holidays"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Working calendar saved."))
            return redirect("workcalendar:settings")
    context = {"form": form, **_overrides_context(request)}
    return render(request, "workcalendar/calendar/settings.html", context)


def _overrides_response(request: HttpRequest, override_form: CalendarOverrideForm | None = None) -> HttpResponse:
    if request.htmx:
        return render(request, PARTIAL, _overrides_context(request, override_form))
    if override_form is not None and override_form.errors:
        instance = WorkCalendar.objects.filter(tenant=request.tenant).first() or WorkCalendar(tenant=request.tenant)
        context = {"form": WorkCalendarForm(instance=instance), **_overrides_context(request, override_form)}
        return render(request, "workcalendar/calendar/settings.html", context)
    return redirect("workcalendar:settings")


@admin_required
@require_POST
@vary_on_headers("HX-Request")
def override_add(request: HttpRequest) -> HttpResponse:
    form = CalendarOverrideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            added = calendar_override_add(
                acting_user=request.user,
                tenant=request.tenant,
                first_day=data["first_day"],
                last_day=data["last_day"],
                is_working=data["is_working"],
                note=data["note"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("%(count)d dates added to the calendar.") % {"count": len(added)})
            return _overrides_response(request)
    return _overrides_response(request, form)


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def override_remove(request: HttpRequest, pk: int) -> HttpResponse:
    override = access.get_override_for_admin(request.user, pk)
    # The response is built after the action: the list it shows no longer has the day.
    return domain_action(
        request,
        lambda: calendar_override_remove(acting_user=request.user, override=override),
        success=_("%(day)s follows the normal calendar again.") % {"day": _format_day(override.day)},
        then=lambda _result: _overrides_response(request),
        on_error=lambda: _overrides_response(request),
    )


def _format_day(day: dt.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")
