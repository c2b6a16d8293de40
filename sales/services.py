"""Writes of the sales app: one function per use case, keyword-only, atomic, permission-checked, audited.

Each raises DomainError (translated, with the form field it concerns) or PermissionDenied on refusal and then has
written nothing. The customer's two pool facts are only ever moved through customers.services.record_follow_up()
and record_deal() (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from crm.models import Role, Team, Tenant, User
from crm.services import DomainError, audit, notify
from crm.tenancy import tenants_having
from customers import services as customer_services
from customers.models import Contact, Customer

from .models import (
    FOLLOW_UP_EDIT_WINDOW,
    Appointment,
    AppointmentAttendee,
    AppointmentContact,
    FollowUp,
    Lead,
    Opportunity,
    Order,
    OrderLine,
    Task,
    order_currencies,
)

REMINDER_BATCH = 100
# A follow-up logged "now" from a phone whose clock runs a little fast is still fine.
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- helpers -------------------------------------------------------------------------------------------------


def _require_tenant_user(user: User) -> None:
    if not (user is not None and user.is_authenticated and user.is_active and user.tenant_id):
        raise PermissionDenied


def _this_minute() -> datetime:
    # Forms give minute precision: "now" typed into a form is not "in the past".
    return timezone.now().replace(second=0, microsecond=0)


def local_today(tenant: Tenant) -> date:
    return timezone.localtime(timezone.now(), tenant.tzinfo).date()


def assignable_users(user: User):
    """Whom `user` may give a task or an appointment: an admin anyone active; a manager the members of their teams
    and themself; everyone else themself."""
    users = User.objects.for_tenant(user.tenant).filter(is_active=True)
    if user.has_role(Role.ADMIN):
        return users
    if user.has_role(Role.MANAGER):
        return users.filter(team__in=Team.objects.managed_by(user).values("pk")) | users.filter(pk=user.pk)
    return users.filter(pk=user.pk)


def _check_assignee(acting_user: User, assignee: User, field: str = "assignee") -> None:
    if assignee.tenant_id != acting_user.tenant_id or not assignable_users(acting_user).filter(pk=assignee.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field=field)


def _check_customer(acting_user: User, customer: Customer | None, *, for_change: bool = False) -> None:
    """The same refusal for another tenant's, a missing and an invisible customer: nothing about it is revealed."""
    if customer is None:
        return
    visible = customer.tenant_id == acting_user.tenant_id and (
        Customer.objects.visible_to(acting_user).filter(pk=customer.pk).exists()
    )
    if not visible:
        raise DomainError(_("Choose a customer you can see."), field="customer")
    if for_change and not Customer.objects.editable_by(acting_user).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You may see this customer but not change it."))


def _required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    return value


def _format_local(value: datetime, tenant: Tenant) -> str:
    return formats.date_format(timezone.localtime(value, tenant.tzinfo), "SHORT_DATETIME_FORMAT")


def _notify_in_app(*, recipient: User, key: str, url: str, title_fn, body_fn=lambda: "") -> None:
    """An in-app notification written in the recipient's language (the strings are built under it)."""
    with translation.override(recipient.effective_language):
        title, body = str(title_fn()), str(body_fn())
    notify(recipient=recipient, title=title, body=body, url=url, key=key, email=False)


# --- tasks ---------------------------------------------------------------------------------------------------


def _check_schedule(*, due_at: datetime, remind_at: datetime | None, remind_changed: bool) -> None:
    if due_at is None:
        raise DomainError(_("Enter when the task is due."), field="due_at")
    if remind_at is None:
        return
    if remind_changed and remind_at < _this_minute():
        raise DomainError(_("The reminder time is in the past; choose a later time."), field="remind_at")
    if remind_at > due_at:
        raise DomainError(_("The reminder must not be later than the due time."), field="remind_at")


def _notify_assigned(task: Task, acting_user: User) -> None:
    if task.assignee_id == acting_user.pk:
        return
    _notify_in_app(
        recipient=task.assignee,
        key=f"task-assigned:{task.pk}:{task.assignee_id}",
        url=reverse("sales:task_detail", args=[task.pk]),
        title_fn=lambda: (
            _("%(name)s gave you a task: %(title)s") % {"name": acting_user.full_name, "title": task.title}
        ),
        body_fn=lambda: _("Due %(due)s.") % {"due": _format_local(task.due_at, task.assignee.tenant)},
    )


def task_create(
    *,
    acting_user: User,
    title: str,
    due_at: datetime,
    remind_at: datetime | None = None,
    assignee: User | None = None,
    customer: Customer | None = None,
    notes: str = "",
    follow_up: FollowUp | None = None,
) -> Task:
    """A new task for the acting user (or, for managers and admins, someone of their teams)."""
    _require_tenant_user(acting_user)
    assignee = assignee or acting_user
    title = _required_text(title, "title", _("Give the task a title."))
    _check_assignee(acting_user, assignee)
    _check_customer(acting_user, customer)
    _check_schedule(due_at=due_at, remind_at=remind_at, remind_changed=True)
    with transaction.atomic():
        task = Task.objects.create(
            tenant_id=acting_user.tenant_id,
            title=title[:200],
            notes=notes or "",
            assignee=assignee,
            customer=customer,
            follow_up=follow_up,
            due_at=due_at,
            remind_at=remind_at,
            created_by=acting_user,
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="task.create",
            obj=task,
            details={
                "assignee": assignee.pk,
                "customer": customer.pk if customer else None,
                "due_at": due_at.isoformat(),
                "remind_at": remind_at.isoformat() if remind_at else None,
            },
        )
        _notify_assigned(task, acting_user)
    return task


def require_task_access(user: User, task: Task) -> None:
    if not Task.objects.visible_to(user).filter(pk=task.pk).exists():
        raise PermissionDenied(_("This task is not yours."))


def task_update(
    *,
    acting_user: User,
    task: Task,
    title: str,
    due_at: datetime,
    remind_at: datetime | None,
    assignee: User,
    customer: Customer | None,
    notes: str = "",
) -> Task:
    """Change a task. A new reminder time re-arms the reminder (and must not be in the past)."""
    _require_tenant_user(acting_user)
    require_task_access(acting_user, task)
    title = _required_text(title, "title", _("Give the task a title."))
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        remind_changed = remind_at != task.remind_at
        if assignee.pk != task.assignee_id:
            _check_assignee(acting_user, assignee)
        if (customer.pk if customer else None) != task.customer_id:
            # An unchanged link stays even if the customer was since transferred; a new one must be visible.
            _check_customer(acting_user, customer)
        _check_schedule(due_at=due_at, remind_at=remind_at, remind_changed=remind_changed)
        before = _task_snapshot(task)
        new_assignee = assignee.pk != task.assignee_id
        task.title, task.due_at, task.remind_at, task.assignee, task.customer, task.notes = (
            title[:200],
            due_at,
            remind_at,
            assignee,
            customer,
            notes or "",
        )
        if remind_changed:
            task.reminder_sent_at = None
        task.save()
        after = _task_snapshot(task)
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changes:
            audit(tenant=acting_user.tenant, actor=acting_user, action="task.update", obj=task, details=changes)
        if new_assignee:
            _notify_assigned(task, acting_user)
    return task


def _task_snapshot(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "remind_at": task.remind_at.isoformat() if task.remind_at else None,
        "assignee": task.assignee_id,
        "customer": task.customer_id,
        "notes": task.notes,
    }


def task_set_done(*, acting_user: User, task: Task, done: bool) -> Task:
    """Mark done or reopen. A conditional UPDATE: clicking twice, or two people at once, changes it once."""
    _require_tenant_user(acting_user)
    require_task_access(acting_user, task)
    with transaction.atomic():
        if done:
            changed = Task.objects.filter(pk=task.pk, done_at__isnull=True).update(
                done_at=timezone.now(), done_by=acting_user, updated_at=timezone.now()
            )
        else:
            changed = Task.objects.filter(pk=task.pk, done_at__isnull=False).update(
                done_at=None, done_by=None, updated_at=timezone.now()
            )
        task.refresh_from_db()
        if changed:
            audit(tenant=acting_user.tenant, actor=acting_user, action="task.done" if done else "task.reopen", obj=task)
    return task


# --- reminders (the job) -------------------------------------------------------------------------------------


def tenants_with_due_reminders(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return tenants_having(lambda: Task.objects.pending_reminders(now))


def reminder_key(task: Task) -> str:
    return f"reminder:{task.pk}:{task.remind_at.isoformat()}"


def _send_reminder(task: Task) -> None:
    recipient = task.assignee
    tenant = task.tenant
    with translation.override(recipient.effective_language):
        title = _("Reminder: %(title)s") % {"title": task.title}
        body = _("Due %(due)s.") % {"due": _format_local(task.due_at, tenant)}
        if task.customer is not None:
            body = f"{body} " + _("Customer: %(name)s") % {"name": task.customer.name}
        if task.notes:
            body = f"{body}\n\n{task.notes}"
    notify(
        recipient=recipient,
        title=title,
        body=body,
        url=reverse("sales:task_detail", args=[task.pk]),
        key=reminder_key(task),
        email=True,
    )


def reminders_send_due(*, tenant_id: int, now: datetime | None = None) -> int:
    """Send one tenant's due reminders: each yields exactly one in-app notification and one email.

    Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, marked sent and notified in the same transaction, so two
    workers at once share the work without doubles, and a rerun finds nothing. The notification and the email row
    are written under the reminder's unique key (crm.services.notify); the email is delivered after commit.
    """
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Task.objects.filter(tenant_id=tenant_id, tenant__is_active=True)
                .pending_reminders(now)
                .select_related("assignee", "assignee__tenant", "customer", "tenant")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("remind_at", "pk")[:REMINDER_BATCH]
            )
            if not batch:
                break
            Task.objects.filter(pk__in=[t.pk for t in batch]).update(reminder_sent_at=now)
            for task in batch:
                _send_reminder(task)
        sent += len(batch)
        if len(batch) < REMINDER_BATCH:
            break
    return sent


# --- follow-ups ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextTask:
    """The task a follow-up form may create in the same transaction."""

    title: str
    due_at: datetime
    remind_at: datetime | None = None
    assignee: User | None = None


def _check_follow_up_fields(
    *, customer: Customer | None, kind: str, outcome: str, happened_at: datetime, contact: Contact | None
) -> None:
    if kind not in FollowUp.Kind.values:
        raise DomainError(_("Choose how you followed up."), field="kind")
    if outcome not in FollowUp.Outcome.values:
        raise DomainError(_("Choose an outcome."), field="outcome")
    if happened_at > timezone.now() + FUTURE_TOLERANCE:
        raise DomainError(_("A follow-up cannot be in the future; plan it as a task instead."), field="happened_at")
    if contact is not None and (
        customer is None or contact.customer_id != customer.pk or contact.tenant_id != customer.tenant_id
    ):
        raise DomainError(_("Choose a contact of this customer."), field="contact")


def _check_follow_up_subject(
    acting_user: User, *, lead: Lead | None, opportunity: Opportunity | None, new: bool = True
) -> None:
    """A lead or an opportunity is followed up by whoever may work on it (their visible_to: owner, the owner's
    managers, admins); the same refusal for another tenant's, a missing and an invisible one."""
    if lead is not None:
        if (
            lead.tenant_id != acting_user.tenant_id
            or not Lead.objects.visible_to(acting_user).filter(pk=lead.pk).exists()
        ):
            raise PermissionDenied(_("This lead is not yours."))
        if new and lead.status == Lead.Status.CONVERTED:
            raise DomainError(_("This lead is converted: log follow-ups on its customer or opportunity."))
    if opportunity is not None and (
        opportunity.tenant_id != acting_user.tenant_id
        or not Opportunity.objects.visible_to(acting_user).filter(pk=opportunity.pk).exists()
    ):
        raise PermissionDenied(_("This opportunity is not yours."))


def followup_log(
    *,
    acting_user: User,
    kind: str,
    content: str,
    customer: Customer | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    outcome: str = FollowUp.Outcome.NEUTRAL,
    happened_at: datetime | None = None,
    contact: Contact | None = None,
    next_step: str = "",
    next_task: NextTask | None = None,
) -> FollowUp:
    """Log a follow-up on a customer, a lead or an opportunity (which counts for its customer too), move the last
    follow-up forward and optionally plan the next task — all or nothing. A new lead followed up is contacted."""
    _require_tenant_user(acting_user)
    if sum(x is not None for x in (customer, lead, opportunity)) != 1:
        raise ValueError("followup_log needs exactly one of customer, lead, opportunity")
    if customer is not None:
        _check_customer(acting_user, customer, for_change=True)
    else:
        _check_follow_up_subject(acting_user, lead=lead, opportunity=opportunity)
        customer = opportunity.customer if opportunity is not None else None
    happened_at = happened_at or timezone.now()
    content = _required_text(content, "content", _("Say what happened."))
    _check_follow_up_fields(customer=customer, kind=kind, outcome=outcome, happened_at=happened_at, contact=contact)
    with transaction.atomic():
        follow_up = FollowUp.objects.create(
            tenant_id=acting_user.tenant_id,
            customer=customer,
            lead=lead,
            opportunity=opportunity,
            contact=contact,
            author=acting_user,
            kind=kind,
            outcome=outcome,
            happened_at=happened_at,
            content=content,
            next_step=(next_step or "").strip()[:500],
            created_by=acting_user,
        )
        if customer is not None:
            customer_services.record_follow_up(customer_id=customer.pk, at=happened_at, tenant_id=customer.tenant_id)
        _record_subject_follow_up(lead=lead, opportunity=opportunity, at=happened_at)
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="followup.create",
            obj=follow_up,
            details={
                "customer": customer.pk if customer else None,
                "lead": lead.pk if lead else None,
                "opportunity": opportunity.pk if opportunity else None,
                "kind": kind,
                "outcome": outcome,
            },
        )
        if next_task is not None:
            try:
                task_create(
                    acting_user=acting_user,
                    title=next_task.title or next_step,
                    due_at=next_task.due_at,
                    remind_at=next_task.remind_at,
                    assignee=next_task.assignee,
                    customer=customer if customer is not None and lead is None else None,
                    follow_up=follow_up,
                )
            except DomainError as exc:
                # Rolls back the follow-up too; the error names the next-task field of the form.
                raise DomainError(exc.message, field=f"next_task_{exc.field}" if exc.field else None) from exc
    return follow_up


def _record_subject_follow_up(*, lead: Lead | None, opportunity: Opportunity | None, at: datetime) -> None:
    """Move a lead's or an opportunity's last follow-up forward (never back); a new lead becomes contacted."""
    for model, obj in ((Lead, lead), (Opportunity, opportunity)):
        if obj is None:
            continue
        model.objects.filter(pk=obj.pk).filter(
            Q(last_followed_up_at__isnull=True) | Q(last_followed_up_at__lt=at)
        ).update(last_followed_up_at=at, updated_at=timezone.now())
    if lead is not None:
        Lead.objects.filter(pk=lead.pk, status=Lead.Status.NEW).update(
            status=Lead.Status.CONTACTED, updated_at=timezone.now()
        )


def followup_editable_by(user: User, follow_up: FollowUp) -> bool:
    return follow_up.author_id == user.pk and timezone.now() <= follow_up.editable_until()


def followup_update(
    *,
    acting_user: User,
    follow_up: FollowUp,
    kind: str,
    content: str,
    outcome: str,
    happened_at: datetime,
    contact: Contact | None = None,
    next_step: str = "",
) -> FollowUp:
    """Correct a follow-up: its author only, within FOLLOW_UP_EDIT_WINDOW; every change is audited."""
    _require_tenant_user(acting_user)
    if follow_up.author_id != acting_user.pk:
        raise PermissionDenied(_("Only the author may edit a follow-up."))
    content = _required_text(content, "content", _("Say what happened."))
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("customer", "lead", "opportunity")
            .get(pk=follow_up.pk)
        )
        if not followup_editable_by(acting_user, follow_up):
            hours = int(FOLLOW_UP_EDIT_WINDOW.total_seconds() // 3600)
            raise DomainError(
                _("A follow-up can be edited for %(hours)d hours after it was logged; this one is now on the record.")
                % {"hours": hours}
            )
        if follow_up.customer_id and not follow_up.opportunity_id:
            _check_customer(acting_user, follow_up.customer, for_change=True)
        else:
            _check_follow_up_subject(acting_user, lead=follow_up.lead, opportunity=follow_up.opportunity, new=False)
        _check_follow_up_fields(
            customer=follow_up.customer, kind=kind, outcome=outcome, happened_at=happened_at, contact=contact
        )
        before = _follow_up_snapshot(follow_up)
        follow_up.kind, follow_up.content, follow_up.outcome = kind, content, outcome
        follow_up.happened_at, follow_up.contact, follow_up.next_step = happened_at, contact, (next_step or "")[:500]
        after = _follow_up_snapshot(follow_up)
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if not changes:
            return follow_up
        follow_up.edited_at = timezone.now()
        follow_up.save()
        if follow_up.customer_id:
            customer_services.record_follow_up(
                customer_id=follow_up.customer_id, at=happened_at, tenant_id=follow_up.tenant_id
            )
        _record_subject_follow_up(lead=follow_up.lead, opportunity=follow_up.opportunity, at=happened_at)
        audit(tenant=acting_user.tenant, actor=acting_user, action="followup.update", obj=follow_up, details=changes)
    return follow_up


def _follow_up_snapshot(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "kind": follow_up.kind,
        "content": follow_up.content,
        "outcome": follow_up.outcome,
        "happened_at": follow_up.happened_at.isoformat(),
        "contact": follow_up.contact_id,
        "next_step": follow_up.next_step,
    }


# --- appointments --------------------------------------------------------------------------------------------


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


def can_change_appointment(user: User, appointment: Appointment) -> bool:
    """The owner, the owner's manager (any team above theirs) or an admin of the tenant; attendees only look."""
    if appointment.tenant_id != user.tenant_id:
        return False
    if appointment.owner_id == user.pk or user.has_role(Role.ADMIN):
        return True
    if not user.has_role(Role.MANAGER):
        return False
    return User.objects.filter(pk=appointment.owner_id, team__in=Team.objects.managed_by(user).values("pk")).exists()


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
    _require_tenant_user(acting_user)
    creating = appointment is None
    if not creating and not can_change_appointment(acting_user, appointment):
        raise PermissionDenied(_("Only the owner, their manager or an administrator may change this appointment."))
    title = _required_text(title, "title", _("Give the appointment a title."))
    if start_at is None or end_at is None:
        raise DomainError(_("Enter a start and an end."), field="start_at")
    if end_at <= start_at:
        raise DomainError(_("The end must be after the start."), field="end_at")
    owner = owner or (acting_user if creating else appointment.owner)
    if creating or owner.pk != appointment.owner_id:
        _check_assignee(acting_user, owner, field="owner")
    if creating or (customer.pk if customer else None) != appointment.customer_id:
        _check_customer(acting_user, customer)
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
    _notify_in_app(
        recipient=user,
        key=f"appointment-invite:{appointment.pk}:{user.pk}:{appointment.start_at.isoformat()}",
        url=reverse("sales:appointment_detail", args=[appointment.pk]),
        title_fn=lambda: (
            _("%(name)s added you to “%(title)s”") % {"name": acting_user.full_name, "title": appointment.title}
        ),
        body_fn=lambda: (
            _format_local(appointment.start_at, user.tenant) + (f" · {appointment.place}" if appointment.place else "")
        ),
    )


def appointment_cancel(*, acting_user: User, appointment: Appointment) -> Appointment:
    _require_tenant_user(acting_user)
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
                _notify_in_app(
                    recipient=user,
                    key=f"appointment-cancel:{appointment.pk}:{user.pk}",
                    url=reverse("sales:appointment_detail", args=[appointment.pk]),
                    title_fn=lambda: _("Cancelled: %(title)s") % {"title": appointment.title},
                    body_fn=lambda u=user: _format_local(appointment.start_at, u.tenant),
                )
    return appointment


# --- orders --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    name: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


def lines_amount(amount: Decimal | None, lines: Sequence[Line]) -> Decimal | None:
    """Check product lines and reconcile them with an amount: with lines and no amount, their total; with both,
    they must agree. Shared by orders and opportunities."""
    for line in lines:
        if not (line.name or "").strip():
            raise DomainError(_("Every product line needs a product name."), field="lines")
        if line.quantity is None or line.quantity <= 0:
            raise DomainError(_("A product line's quantity must be greater than zero."), field="lines")
        if line.unit_price is None or line.unit_price < 0:
            raise DomainError(_("A product line's unit price cannot be negative."), field="lines")
    if lines:
        total = sum((line.total for line in lines), Decimal("0")).quantize(Decimal("0.01"))
        if amount is None:
            amount = total
        elif amount != total:
            raise DomainError(
                _("The amount %(amount)s differs from the total of the product lines, %(total)s.")
                % {"amount": f"{amount:.2f}", "total": f"{total:.2f}"},
                field="amount",
            )
    return amount


def _deal_time(ordered_on: date, tenant: Tenant) -> datetime:
    """When the deal counts as made: noon of the order date in the tenant's time zone, never later than now."""
    noon = timezone.make_aware(datetime.combine(ordered_on, time(12, 0)), tenant.tzinfo)
    return min(noon, timezone.now())


def order_create(
    *,
    acting_user: User,
    customer: Customer,
    ordered_on: date,
    currency: str,
    amount: Decimal | None = None,
    lines: Sequence[Line] = (),
    items_text: str = "",
    reference: str = "",
    notes: str = "",
) -> Order:
    """Record an order and move the customer's last deal forward (customers.services.record_deal)."""
    _require_tenant_user(acting_user)
    _check_customer(acting_user, customer, for_change=True)
    return order_record(
        acting_user=acting_user,
        customer=customer,
        ordered_on=ordered_on,
        currency=currency,
        amount=amount,
        lines=lines,
        items_text=items_text,
        reference=reference,
        notes=notes,
    )


def order_record(
    *,
    acting_user: User,
    customer: Customer,
    ordered_on: date,
    currency: str,
    amount: Decimal | None = None,
    lines: Sequence[Line] = (),
    items_text: str = "",
    reference: str = "",
    notes: str = "",
) -> Order:
    """The order's rules and writes, for callers that checked the permission their own way (order_create: the
    customer may be changed by the user; winning an opportunity: the opportunity may be moved by the user)."""
    tenant = acting_user.tenant
    if customer.tenant_id != tenant.pk:
        raise DomainError(_("Choose a customer you can see."), field="customer")
    if ordered_on is None:
        raise DomainError(_("Enter the order date."), field="ordered_on")
    if ordered_on > local_today(tenant):
        raise DomainError(_("An order date cannot be in the future."), field="ordered_on")
    allowed = order_currencies(tenant)
    if currency not in allowed:
        raise DomainError(
            _("%(code)s is not a currency your company uses; choose one of %(allowed)s.")
            % {"code": currency or "—", "allowed": ", ".join(allowed)},
            field="currency",
        )
    amount = lines_amount(amount, lines)
    if amount is None or amount <= 0:
        raise DomainError(_("The amount must be greater than zero."), field="amount")
    reference = (reference or "").strip()
    if reference and Order.objects.for_tenant(tenant).filter(reference=reference).exists():
        raise DomainError(_("An order with this number already exists."), field="reference")
    try:
        with transaction.atomic():
            order = Order.objects.create(
                tenant=tenant,
                customer=customer,
                ordered_on=ordered_on,
                amount=amount,
                currency=currency,
                reference=reference,
                items_text=(items_text or "").strip(),
                notes=notes or "",
                created_by=acting_user,
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        tenant=tenant,
                        order=order,
                        position=i,
                        name=line.name.strip()[:200],
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                    for i, line in enumerate(lines)
                ]
            )
            customer_services.record_deal(
                customer_id=customer.pk, at=_deal_time(ordered_on, tenant), tenant_id=customer.tenant_id
            )
            audit(
                tenant=tenant,
                actor=acting_user,
                action="order.create",
                obj=order,
                details={"customer": customer.pk, "amount": str(amount), "currency": currency, "lines": len(lines)},
            )
    except IntegrityError as exc:
        # Two people entering the same order number at once: the unique constraint decides.
        raise DomainError(_("An order with this number already exists."), field="reference") from exc
    return order


def order_void(*, acting_user: User, order: Order, reason: str) -> Order:
    """Void a mistaken order (it stays, marked void, with who and why). The customer's last deal is not moved back:
    record_deal only ever moves it forward."""
    _require_tenant_user(acting_user)
    _check_customer(acting_user, order.customer, for_change=True)
    reason = _required_text(reason, "reason", _("Say why the order is void."))
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, voided_at__isnull=True).update(
            voided_at=timezone.now(), voided_by=acting_user, void_reason=reason[:300], updated_at=timezone.now()
        )
        order.refresh_from_db()
        if not changed:
            raise DomainError(_("This order is already void."))
        audit(tenant=acting_user.tenant, actor=acting_user, action="order.void", obj=order, details={"reason": reason})
    return order
