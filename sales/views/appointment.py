"""Appointments: create with conflict warnings, detail, edit, cancel."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.web import apply_domain_error, form_status, tenant_required
from customers.models import Customer
from sales.access import can_change_appointment, get_appointment_for_user
from sales.forms.appointment import AppointmentForm, NewAppointmentParamsForm
from sales.models import (
    Appointment,
    AppointmentAttendee,
    AppointmentContact,
)
from sales.selectors.customer import visible_customer_ids
from sales.services.appointment import OverlapWarning, appointment_cancel, appointment_save


def _appointment_form_response(request, form, *, appointment=None, conflicts=(), creating=False):
    return render(
        request,
        "sales/appointment_form.html",
        {"form": form, "appointment": appointment, "conflicts": conflicts, "creating": creating},
        status=form_status(form),
    )


def _save_appointment(request: HttpRequest, form: AppointmentForm, appointment: Appointment | None):
    """Returns the saved appointment, or None with the form carrying the error (and the overlap checkbox shown)."""
    data = form.cleaned_data
    try:
        return (
            appointment_save(
                acting_user=request.user,
                appointment=appointment,
                title=data["title"],
                start_at=data["start_at"],
                end_at=data["end_at"],
                owner=data["owner"],
                place=data["place"],
                notes=data["notes"],
                customer=data["customer"],
                attendees=data["attendees"],
                contacts=data["contacts"],
                confirm_overlap=data["confirm_overlap"],
            ),
            [],
        )
    except OverlapWarning as exc:
        form.add_error(None, exc.message)
        return None, exc.conflicts
    except DomainError as exc:
        apply_domain_error(form, exc)
        return None, []


@tenant_required
@require_http_methods(["GET", "POST"])
def appointment_create(request: HttpRequest) -> HttpResponse:
    params = NewAppointmentParamsForm(
        request.GET, queryset=Customer.objects.visible_to(request.user), today=timezone.localdate()
    )
    day = params.value("date")
    start_hour = 9 if day != timezone.localdate() else min(max(timezone.localtime().hour + 1, 9), 22)
    start = timezone.make_aware(datetime.combine(day, time(start_hour, 0)))
    customer = params.value("customer")
    initial = {"start_at": start, "end_at": start + timedelta(hours=1), "owner": request.user, "customer": customer}
    form = AppointmentForm(
        request.POST or None, user=request.user, initial=initial, show_confirm="confirm_overlap" in request.POST
    )
    conflicts = []
    if request.method == "POST" and form.is_valid():
        appointment, conflicts = _save_appointment(request, form, None)
        if appointment is not None:
            messages.success(request, _("Appointment “%(title)s” saved.") % {"title": appointment.title})
            return redirect(_appointment_calendar_url(appointment))
        if conflicts:
            form = _with_confirm(request, form)
    return _appointment_form_response(request, form, conflicts=conflicts, creating=True)


def _with_confirm(request: HttpRequest, form: AppointmentForm) -> AppointmentForm:
    """Show the "save anyway" checkbox (unchecked) next to the overlap warning, keeping what was typed."""
    data = request.POST.copy()
    data.pop("confirm_overlap", None)
    errors = form.errors
    confirmed = AppointmentForm(data, user=request.user, show_confirm=True)
    confirmed.full_clean()
    for field, messages_ in errors.items():
        for message in messages_:
            confirmed.add_error(None if field == "__all__" else field, message)
    return confirmed


def _appointment_calendar_url(appointment: Appointment) -> str:
    day = timezone.localtime(appointment.start_at).date().isoformat()
    return f"{reverse('sales:calendar')}?date={day}"


@tenant_required
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request.user, pk)
    attendees = list(
        AppointmentAttendee.objects.filter(appointment=appointment).select_related("user").order_by("user__full_name")
    )
    contacts = list(
        AppointmentContact.objects.filter(appointment=appointment).select_related("contact").order_by("contact__name")
    )
    customer_visible = bool(visible_customer_ids(request.user, [appointment.customer_id]))
    return render(
        request,
        "sales/appointment_detail.html",
        {
            "appointment": appointment,
            "attendees": [a.user for a in attendees],
            "contacts": [c.contact for c in contacts],
            "customer_visible": customer_visible,
            "can_change": can_change_appointment(request.user, appointment),
        },
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request.user, pk, for_change=True)
    if appointment.is_cancelled:
        messages.error(request, _("This appointment was cancelled."))
        return redirect("sales:appointment_detail", pk=appointment.pk)
    initial = {
        "title": appointment.title,
        "start_at": timezone.localtime(appointment.start_at),
        "end_at": timezone.localtime(appointment.end_at),
        "place": appointment.place,
        "owner": appointment.owner,
        "attendees": list(appointment.attendee_links.values_list("user_id", flat=True)),
        "customer": appointment.customer_id,
        "contacts": list(appointment.contact_links.values_list("contact_id", flat=True)),
        "notes": appointment.notes,
    }
    form = AppointmentForm(
        request.POST or None, user=request.user, initial=initial, show_confirm="confirm_overlap" in request.POST
    )
    if appointment.customer_id:
        form.fields["customer"].queryset = Customer.objects.visible_to(request.user) | Customer.objects.filter(
            tenant_id=appointment.tenant_id, pk=appointment.customer_id
        )
    conflicts = []
    if request.method == "POST" and form.is_valid():
        saved, conflicts = _save_appointment(request, form, appointment)
        if saved is not None:
            messages.success(request, _("Appointment “%(title)s” saved.") % {"title": saved.title})
            return redirect(_appointment_calendar_url(saved))
        if conflicts:
            form = _with_confirm(request, form)
    return _appointment_form_response(request, form, appointment=appointment, conflicts=conflicts)


@tenant_required
@require_POST
def appointment_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request.user, pk, for_change=True)
    appointment_cancel(acting_user=request.user, appointment=appointment)
    messages.success(request, _("Appointment “%(title)s” cancelled.") % {"title": appointment.title})
    return redirect(_appointment_calendar_url(appointment))
