"""Appointments in the calendar: saved with conflict warnings, cancelled; attendees are told."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_user
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import Contact, Customer
from sales.access import can_change_appointment, check_assignee, check_customer
from sales.models import (
    Appointment,
    AppointmentAttendee,
    AppointmentContact,
)
from sales.services.activity import format_local, notify_in_app, required_text


@dataclass(frozen=True)
class Conflict:
    person: User
    appointment: Appointment
    # Whether the acting user may see the other appointment (then its title is shown, else only "busy").
    visible: bool


class OverlapWarning(DomainError):
    """The appointment overlaps another of the same person; saving needs an explicit "save anyway"."""

    def __init__(self, conflicts: list[Conflict]):
        super().__init__(_("This time overlaps other appointments. Change the time, or confirm to save anyway."))
        self.conflicts = conflicts


def appointment_conflicts(
    *,
    viewer: User,
    people: Sequence[User],
    start_at: datetime,
    end_at: datetime,
    exclude_pk: int | None = None,
) -> list[Conflict]:
    """Other live appointments of these people (as owner or attendee) overlapping [start_at, end_at): 3 queries."""
    by_id = {p.pk: p for p in people}
    if not by_id:
        return []
    others = (
        Appointment.objects.filter(tenant_id=viewer.tenant_id)
        .overlapping(start_at, end_at)
        .involving(by_id)
        .prefetch_related(Prefetch("attendee_links", queryset=AppointmentAttendee.objects.only("appointment", "user")))
        .order_by("start_at", "pk")
    )
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    others = list(others)
    if not others:
        return []
    visible = set(
        Appointment.objects.visible_to(viewer).filter(pk__in=[a.pk for a in others]).values_list("pk", flat=True)
    )
    conflicts = []
    for appointment in others:
        involved = {appointment.owner_id} | {link.user_id for link in appointment.attendee_links.all()}
        for person_id in sorted(involved & set(by_id)):
            conflicts.append(Conflict(by_id[person_id], appointment, appointment.pk in visible))
    return conflicts


def appointment_save(
    *,
    acting_user: User,
    title: str,
    start_at: datetime,
    end_at: datetime,
    appointment: Appointment | None = None,
    owner: User | None = None,
    place: str = "",
    notes: str = "",
    customer: Customer | None = None,
    attendees: Iterable[User] = (),
    contacts: Iterable[Contact] = (),
    confirm_overlap: bool = False,
) -> Appointment:
    """Create or change (move) an appointment. An overlap with another appointment of the owner or an attendee
    raises OverlapWarning unless `confirm_overlap`; then the confirmed overlap is audited."""
    require_tenant_user(acting_user)
    creating = appointment is None
    if not creating and not can_change_appointment(acting_user, appointment):
        raise PermissionDenied(_("Only the owner, their manager or an administrator may change this appointment."))
    title = required_text(title, "title", _("Give the appointment a title."))
    if start_at is None or end_at is None:
        raise DomainError(_("Enter a start and an end."), field="start_at")
    if end_at <= start_at:
        raise DomainError(_("The end must be after the start."), field="end_at")
    owner = owner or (acting_user if creating else appointment.owner)
    if creating or owner.pk != appointment.owner_id:
        check_assignee(acting_user, owner, field="owner")
    if creating or (customer.pk if customer else None) != appointment.customer_id:
        check_customer(acting_user, customer)
    attendees = {u.pk: u for u in attendees if u.pk != owner.pk}
    for user in attendees.values():
        if user.tenant_id != acting_user.tenant_id or not user.is_active:
            raise DomainError(_("Invite active colleagues of your company."), field="attendees")
    contacts = {c.pk: c for c in contacts}
    for contact in contacts.values():
        if customer is None or contact.customer_id != customer.pk or contact.tenant_id != acting_user.tenant_id:
            raise DomainError(_("Choose contacts of the linked customer."), field="contacts")

    with transaction.atomic():
        people = [owner, *attendees.values()]
        # Lock the people in a fixed order: two bookings for the same person cannot both miss each other.
        list(User.objects.filter(pk__in=[p.pk for p in people]).order_by("pk").select_for_update())
        if creating:
            warn_people = people
            appointment = Appointment(tenant_id=acting_user.tenant_id, created_by=acting_user)
            old_attendees: set[int] = set()
        else:
            appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
            old_attendees = set(appointment.attendee_links.values_list("user_id", flat=True))
            moved = appointment.start_at != start_at or appointment.end_at != end_at
            # A changed title must not nag about an overlap already accepted: warn for a move or new people.
            warn_people = people if moved else [p for p in people if p.pk not in old_attendees | {appointment.owner_id}]
        if appointment.cancelled_at is not None:
            raise DomainError(_("This appointment was cancelled."))
        conflicts = appointment_conflicts(
            viewer=acting_user, people=warn_people, start_at=start_at, end_at=end_at, exclude_pk=appointment.pk
        )
        if conflicts and not confirm_overlap:
            raise OverlapWarning(conflicts)
        before = _appointment_snapshot(appointment, old_attendees) if not creating else {}
        appointment.title, appointment.owner, appointment.start_at, appointment.end_at = title, owner, start_at, end_at
        appointment.place, appointment.notes, appointment.customer = (place or "")[:200], notes or "", customer
        appointment.save()
        AppointmentAttendee.objects.filter(appointment=appointment).exclude(user_id__in=list(attendees)).delete()
        AppointmentAttendee.objects.bulk_create(
            [
                AppointmentAttendee(tenant_id=appointment.tenant_id, appointment=appointment, user_id=pk)
                for pk in attendees
                if pk not in old_attendees
            ]
        )
        AppointmentContact.objects.filter(appointment=appointment).exclude(contact_id__in=list(contacts)).delete()
        existing_contacts = set(
            AppointmentContact.objects.filter(appointment=appointment).values_list("contact_id", flat=True)
        )
        AppointmentContact.objects.bulk_create(
            [
                AppointmentContact(tenant_id=appointment.tenant_id, appointment=appointment, contact_id=pk)
                for pk in contacts
                if pk not in existing_contacts
            ]
        )
        after = _appointment_snapshot(appointment, set(attendees))
        details: dict[str, Any] = (
            {k: [before[k], after[k]] for k in after if before.get(k) != after[k]} if not creating else after
        )
        if conflicts:
            details["overlap_confirmed"] = sorted({c.appointment.pk for c in conflicts})
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="appointment.create" if creating else "appointment.update",
            obj=appointment,
            details=details,
        )
        for user in attendees.values():
            if user.pk not in old_attendees and user.pk != acting_user.pk:
                _notify_invited(appointment, user, acting_user)
        if owner.pk != acting_user.pk and (creating or before.get("owner") != owner.pk):
            _notify_invited(appointment, owner, acting_user)
    return appointment


def _appointment_snapshot(appointment: Appointment, attendee_ids: set[int]) -> dict[str, Any]:
    return {
        "title": appointment.title,
        "owner": appointment.owner_id,
        "start_at": appointment.start_at.isoformat() if appointment.start_at else None,
        "end_at": appointment.end_at.isoformat() if appointment.end_at else None,
        "place": appointment.place,
        "customer": appointment.customer_id,
        "attendees": sorted(attendee_ids),
    }


def _notify_invited(appointment: Appointment, user: User, acting_user: User) -> None:
    notify_in_app(
        recipient=user,
        key=f"appointment-invite:{appointment.pk}:{user.pk}:{appointment.start_at.isoformat()}",
        url=reverse("sales:appointment_detail", args=[appointment.pk]),
        title_fn=lambda: (
            _("%(name)s added you to “%(title)s”") % {"name": acting_user.full_name, "title": appointment.title}
        ),
        body_fn=lambda: (
            format_local(appointment.start_at, user.tenant) + (f" · {appointment.place}" if appointment.place else "")
        ),
    )


def appointment_cancel(*, acting_user: User, appointment: Appointment) -> Appointment:
    require_tenant_user(acting_user)
    if not can_change_appointment(acting_user, appointment):
        raise PermissionDenied(_("Only the owner, their manager or an administrator may change this appointment."))
    with transaction.atomic():
        changed = Appointment.objects.filter(pk=appointment.pk, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now(), updated_at=timezone.now()
        )
        appointment.refresh_from_db()
        if changed:
            audit(tenant=acting_user.tenant, actor=acting_user, action="appointment.cancel", obj=appointment)
            involved = set(appointment.attendee_links.values_list("user_id", flat=True)) | {appointment.owner_id}
            for user in User.objects.filter(pk__in=involved - {acting_user.pk}, is_active=True):
                notify_in_app(
                    recipient=user,
                    key=f"appointment-cancel:{appointment.pk}:{user.pk}",
                    url=reverse("sales:appointment_detail", args=[appointment.pk]),
                    title_fn=lambda: _("Cancelled: %(title)s") % {"title": appointment.title},
                    body_fn=lambda u=user: format_local(appointment.start_at, u.tenant),
                )
    return appointment
