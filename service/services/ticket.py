"""Writes of tickets: create (by an agent, the public form or email), reply, note, status, edit, assign.

Every write runs in one transaction, checks the acting user's right, keeps the SLA clock (service.services.sla)
and writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import is_tenant_user, require_admin
from crm.api.services.custom_field import custom_values_clean
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import Team, Tenant, User
from crm.services.audit import audit, audit_many
from crm.services.notification import (
    MessageFile,
    Note,
    lazy_format,
    message_attachments_refusal,
    message_queue,
    notify,
)
from customers.models import Contact, Customer
from service.access import assignable_agents, require_work, ticket_customers
from service.models import (
    Channel,
    Priority,
    ServiceSettings,
    Status,
    Ticket,
    TicketCategory,
    TicketMessage,
)
from service.services import sla
from service.services.attachment import attachments_check, attachments_store
from service.services.dispatch import (
    Dispatcher,
    Planned,
    attrs_of,
    plan_of,
    service_settings,
    ticket_attrs,
    waiting_tickets,
)
from service.services.survey import survey_on_resolved

MAX_TAGS = 10
# Message-IDs a reply's References header carries at most.
MAX_REFERENCES = 20


def _url(ticket: Ticket) -> str:
    return reverse("service:ticket_detail", args=[ticket.pk])


def _next_number(tenant_id: int) -> int:
    """The tenant's next ticket number: one conditional UPDATE on the counter row, so two tickets never share one."""
    service_settings(tenant_id)
    ServiceSettings.objects.filter(tenant_id=tenant_id).update(last_number=F("last_number") + 1)
    return ServiceSettings.objects.filter(tenant_id=tenant_id).values_list("last_number", flat=True).get()


def clean_tags(tags: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for tag in tags:
        tag = tag.strip()[:30]
        if tag and tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise DomainError(_("At most %(max)d tags.") % {"max": MAX_TAGS}, field="tags")
    return seen


def _check_refs(tenant_id: int, customer: Customer, contact: Contact | None, category: TicketCategory | None):
    if customer.tenant_id != tenant_id or customer.deleted_at is not None:
        raise DomainError(_("Choose a customer."), field="customer")
    if contact is not None and contact.customer_id != customer.pk:
        raise DomainError(_("The contact belongs to another customer."), field="contact")
    if category is not None and category.tenant_id != tenant_id:
        raise DomainError(_("Choose a category."), field="category")


def _notify_assignee(ticket: Ticket, acting_user: User | None) -> None:
    if ticket.assignee_id is None or (acting_user is not None and ticket.assignee_id == acting_user.pk):
        return
    notify(
        recipient=ticket.assignee,
        title=lazy_format(
            gettext_lazy("Ticket %(number)s is yours: %(subject)s"),
            number=ticket.display_number,
            subject=ticket.subject,
        ),
        url=_url(ticket),
        key=f"ticket-assigned:{ticket.pk}:{ticket.assignee_id}",
    )


def urgent_owner_note(ticket: Ticket) -> Note | None:
    """What the rep who owns the customer hears of an urgent ticket (once per ticket), or None."""
    owner = ticket.customer.owner
    if ticket.priority != Priority.URGENT or owner is None or not owner.is_active:
        return None
    return Note(
        recipient=owner,
        title=lazy_format(
            gettext_lazy("Urgent ticket %(number)s for your customer %(customer)s"),
            number=ticket.display_number,
            customer=ticket.customer.name,
        ),
        body=ticket.subject,
        url=_url(ticket),
        key=f"ticket-urgent:{ticket.pk}",
        robot_event="urgent_ticket",
    )


def _notify_owner_if_urgent(ticket: Ticket) -> None:
    note = urgent_owner_note(ticket)
    if note is not None:
        notify(
            recipient=note.recipient,
            title=note.title,
            body=note.body,
            url=note.url,
            key=note.key,
            robot_event=note.robot_event,
        )


def ticket_create(
    *,
    tenant: Tenant,
    acting_user: User | None,
    customer: Customer,
    subject: str,
    description: str = "",
    contact: Contact | None = None,
    category: TicketCategory | None = None,
    priority: str = Priority.NORMAL,
    channel: str = Channel.PHONE,
    tags: Iterable[str] = (),
    assignee: User | None = None,
    message_id: str = "",
    files: Iterable[File] = (),
    now: dt.datetime | None = None,
    custom: dict | None = None,
) -> Ticket:
    """A new ticket. `acting_user` None: it came from the public form or by email. Without an assignee the
    dispatch rules choose its team and agent. The SLA clock starts at once. `files` are checked (all or none)
    and attached to the customer's message, or to the ticket when an agent opened it."""
    now = now or timezone.now()
    subject = (subject or "").strip()
    if not subject:
        raise DomainError(_("Enter a subject."), field="subject")
    if priority not in Priority.values:
        raise DomainError(_("Choose a priority."), field="priority")
    if channel not in Channel.values:
        raise DomainError(_("Choose a channel."), field="channel")
    if acting_user is not None:
        if not is_tenant_user(acting_user) or acting_user.tenant_id != tenant.pk:
            raise DomainError(_("Only service agents, managers and administrators work tickets."))
        if not ticket_customers(acting_user).filter(pk=customer.pk).exists():
            raise DomainError(_("Choose a customer."), field="customer")
        if assignee is not None and not assignable_agents(acting_user).filter(pk=assignee.pk).exists():
            raise DomainError(_("Choose an agent you may give tickets to."), field="assignee")
    _check_refs(tenant.pk, customer, contact, category)
    tags = clean_tags(tags)
    custom = custom_values_clean(tenant_id=tenant.pk, kind="ticket", values=custom) if custom is not None else {}
    checked = attachments_check(files)
    with transaction.atomic():
        ticket = Ticket(
            tenant=tenant,
            created_by=acting_user,
            created_at=now,
            number=_next_number(tenant.pk),
            reply_token=secrets.token_hex(12),
            subject=subject[:200],
            description=description,
            customer=customer,
            contact=contact,
            category=category,
            priority=priority,
            channel=channel,
            tags=tags,
            custom=custom,
            status=Status.NEW,
        )
        if assignee is not None:
            ticket.assignee = assignee
            ticket.team_id = assignee.team_id
            ticket.status = Status.OPEN
        else:
            dispatcher = Dispatcher(tenant=tenant, lock=True)
            decision = dispatcher.choose(
                ticket_attrs(
                    category_id=category.pk if category else None,
                    priority=priority,
                    channel=channel,
                    level_id=customer.level_id,
                    subject=subject,
                    description=description,
                )
            )
            dispatcher.flush()
            ticket.team = decision.team
            ticket.assignee = decision.agent
            ticket.dispatch_rule = decision.rule
        sla.start(ticket, now, level_id=customer.level_id)
        ticket.save()
        first = None
        if description and acting_user is None:
            first = TicketMessage.objects.create(
                tenant=tenant,
                ticket=ticket,
                kind=TicketMessage.Kind.CUSTOMER,
                body=description,
                message_id=message_id[:255],
                created_at=now,
            )
        attachments_store(ticket=ticket, message=first, files=checked, acting_user=acting_user)
        audit(
            tenant=tenant,
            actor=acting_user,
            action="ticket.create",
            obj=ticket,
            details={
                "channel": channel,
                "priority": priority,
                "team": ticket.team_id,
                "assignee": ticket.assignee_id,
                "rule": ticket.dispatch_rule_id,
                "files": len(checked),
            },
        )
        _notify_assignee(ticket, acting_user)
        _notify_owner_if_urgent(ticket)
        webhook_emit(
            tenant_id=tenant.pk,
            event="ticket.created",
            data={
                "id": ticket.pk,
                "number": ticket.number,
                "subject": ticket.subject,
                "customer": ticket.customer_id,
                "priority": ticket.priority,
                "channel": channel,
            },
        )
    return ticket


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("tenant", "customer", "customer__owner", "contact", "assignee")
        .get(tenant_id=ticket.tenant_id, pk=ticket.pk)
    )


def _move(ticket: Ticket, status: str, now: dt.datetime) -> None:
    """Change the status and keep the clock: pending pauses, open resumes, resolved and closed stop it. Resolving
    sends the ticket's satisfaction survey (once per ticket), and so does closing a ticket that was never resolved
    (closed straight from open or pending): the customer is asked either way, under the same rules."""
    old = ticket.status
    if status == old:
        return
    ticket.status = status
    if status == Status.PENDING:
        sla.pause(ticket, now)
    elif status in (Status.RESOLVED, Status.CLOSED):
        if old not in (Status.RESOLVED, Status.CLOSED):
            sla.stop(ticket, now)
        if status == Status.RESOLVED:
            ticket.resolved_at = now
            survey_on_resolved(ticket=ticket, now=now)
            webhook_emit(
                tenant_id=ticket.tenant_id,
                event="ticket.resolved",
                data={
                    "id": ticket.pk,
                    "number": ticket.number,
                    "subject": ticket.subject,
                    "customer": ticket.customer_id,
                    "assignee": ticket.assignee_id,
                    "resolved_at": now,
                },
            )
        else:
            ticket.closed_at = now
            ticket.resolved_at = ticket.resolved_at or now
            if old != Status.RESOLVED:
                survey_on_resolved(ticket=ticket, now=now)
    else:
        if old in (Status.RESOLVED, Status.CLOSED):
            ticket.resolved_at = None
            ticket.closed_at = None
        sla.resume(ticket, now)


TICKET_SAVE = [*sla.SLA_FIELDS, "status", "resolved_at", "closed_at", "first_responded_at", "updated_at"]


def _reply_subject(ticket: Ticket) -> str:
    return f"[{ticket.display_number}] {ticket.subject}"


def reply_address(ticket: Ticket) -> str:
    """The address the customer's mail client answers to: SERVICE_REPLY_ADDRESS with the ticket's token
    (support+<token>@…), which threads the answer even when the client drops the References; "" when the
    installation has no address whose mail reaches the desk."""
    local, _at, domain = settings.SERVICE_REPLY_ADDRESS.partition("@")
    return f"{local}+{ticket.reply_token}@{domain}" if local and domain else ""


def thread_headers(ticket: Ticket, message: TicketMessage) -> dict[str, str]:
    """Message-ID, In-Reply-To and References of a public reply, so the customer's mail client keeps the ticket's
    mails in one thread: it answers the latest message of the conversation before it, and refers to the earlier
    ones (the oldest first, the References header capped as RFC 5322 allows)."""
    earlier = list(
        TicketMessage.objects.filter(tenant_id=ticket.tenant_id, ticket=ticket, pk__lt=message.pk)
        .exclude(message_id="")
        .order_by("created_at", "pk")
        .values_list("message_id", flat=True)
    )
    headers = {"Message-ID": message.message_id}
    if earlier:
        # The first message and the latest ones: a long thread keeps its root and its recent parents.
        references = earlier if len(earlier) <= MAX_REFERENCES else [earlier[0], *earlier[-(MAX_REFERENCES - 1) :]]
        headers["In-Reply-To"] = earlier[-1]
        headers["References"] = " ".join(references)
    address = reply_address(ticket)
    if address:
        headers["Reply-To"] = address
    return headers


def ticket_reply(
    *,
    acting_user: User,
    ticket: Ticket,
    body: str,
    public: bool,
    status: str | None = None,
    files: Iterable[File] = (),
    now: dt.datetime | None = None,
) -> TicketMessage:
    """An agent's public reply (emailed to the contact with its files attached; the first one stops the
    first-response clock) or internal note; optionally the new status in the same step (e.g. pending the customer,
    resolved). A public reply whose files are too big for one email is refused, nothing saved."""
    now = now or timezone.now()
    require_work(acting_user, ticket)
    body = (body or "").strip()
    if not body:
        raise DomainError(_("Write a message."), field="body")
    if status is not None and status not in Status.values:
        raise DomainError(_("Choose a status."), field="status")
    checked = attachments_check(files)
    if public and checked and ticket.contact_id and ticket.contact.email:
        refusal = message_attachments_refusal(c.size for c in checked)
        if refusal:
            raise DomainError(
                _("%(reason)s Send fewer or smaller files, or post them as an internal note.") % {"reason": refusal},
                field="attachments",
            )
    with transaction.atomic():
        ticket = _lock(ticket)
        if ticket.status == Status.CLOSED:
            raise DomainError(_("This ticket is closed; reopen it first."))
        message = TicketMessage.objects.create(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            kind=TicketMessage.Kind.REPLY if public else TicketMessage.Kind.NOTE,
            author=acting_user,
            body=body,
            created_by=acting_user,
            created_at=now,
        )
        attachments_store(ticket=ticket, message=message, files=checked, acting_user=acting_user)
        if public:
            sla.responded(ticket, now)
            if ticket.status == Status.NEW:
                _move(ticket, Status.OPEN, now)
            message.message_id = (
                f"<ticket-{ticket.pk}-{message.pk}.{ticket.reply_token}@{settings.SERVICE_MAIL_DOMAIN}>"
            )
            message.save(update_fields=["message_id"])
            email = ticket.contact.email if ticket.contact_id else ""
            if email:
                message_queue(
                    tenant_id=ticket.tenant_id,
                    to_address=email,
                    subject=_reply_subject(ticket),
                    body=body,
                    key=f"ticket-reply:{message.pk}",
                    headers=thread_headers(ticket, message),
                    attachments=[MessageFile(c.name, c.content_type, c.file) for c in checked],
                )
        if status is not None:
            _move(ticket, status, now)
        ticket.updated_at = now
        ticket.save(update_fields=TICKET_SAVE)
        audit(
            tenant=ticket.tenant,
            actor=acting_user,
            action="ticket.reply" if public else "ticket.note",
            obj=ticket,
            details={"message": message.pk, "status": ticket.status, "files": len(checked)},
        )
    return message


def ticket_customer_message(
    *, ticket: Ticket, body: str, message_id: str = "", files: Iterable[File] = (), now: dt.datetime | None = None
) -> TicketMessage:
    """The customer wrote again (email or form): added to the conversation; a ticket pending the customer opens
    again (its clock resumes), a resolved one reopens within the tenant's reopen days; a closed one stays closed
    and the agent sees the message."""
    now = now or timezone.now()
    checked = attachments_check(files)
    with transaction.atomic():
        ticket = _lock(ticket)
        message = TicketMessage.objects.create(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            kind=TicketMessage.Kind.CUSTOMER,
            body=body,
            message_id=message_id[:255],
            created_at=now,
        )
        attachments_store(ticket=ticket, message=message, files=checked, acting_user=None)
        reopen_days = service_settings(ticket.tenant_id).reopen_days
        old = ticket.status
        if old == Status.PENDING:
            _move(ticket, Status.OPEN, now)
        elif old == Status.RESOLVED and ticket.resolved_at and now - ticket.resolved_at <= dt.timedelta(reopen_days):
            _move(ticket, Status.OPEN, now)
        ticket.updated_at = now
        ticket.save(update_fields=TICKET_SAVE)
        audit(
            tenant=ticket.tenant,
            actor=None,
            action="ticket.customer_message",
            obj=ticket,
            details={"message": message.pk, "from": old, "to": ticket.status},
        )
        if ticket.assignee_id:
            notify(
                recipient=ticket.assignee,
                title=lazy_format(gettext_lazy("The customer replied on %(number)s"), number=ticket.display_number),
                url=_url(ticket),
                key=f"ticket-customer-message:{message.pk}",
                email=False,
            )
    return message


def ticket_set_status(*, acting_user: User, ticket: Ticket, status: str, now: dt.datetime | None = None) -> Ticket:
    now = now or timezone.now()
    require_work(acting_user, ticket)
    if status not in Status.values or status == Status.NEW:
        raise DomainError(_("Choose a status."), field="status")
    with transaction.atomic():
        ticket = _lock(ticket)
        old = ticket.status
        _move(ticket, status, now)
        ticket.updated_at = now
        ticket.save(update_fields=TICKET_SAVE)
        audit(
            tenant=ticket.tenant,
            actor=acting_user,
            action="ticket.status",
            obj=ticket,
            details={"from": old, "to": status},
        )
    return ticket


def ticket_update(
    *,
    acting_user: User,
    ticket: Ticket,
    subject: str,
    priority: str,
    category: TicketCategory | None,
    tags: Iterable[str],
    now: dt.datetime | None = None,
    custom: dict | None = None,
) -> Ticket:
    """Edit the ticket; a new priority applies its SLA policy to the time left (the time used is kept). `custom`
    changes the custom fields it names (None: none)."""
    now = now or timezone.now()
    require_work(acting_user, ticket)
    subject = (subject or "").strip()
    if not subject:
        raise DomainError(_("Enter a subject."), field="subject")
    if priority not in Priority.values:
        raise DomainError(_("Choose a priority."), field="priority")
    if category is not None and category.tenant_id != ticket.tenant_id:
        raise DomainError(_("Choose a category."), field="category")
    tags = clean_tags(tags)
    with transaction.atomic():
        ticket = _lock(ticket)
        before = {"subject": ticket.subject, "priority": ticket.priority, "category": ticket.category_id}
        if custom is not None:
            ticket.custom = custom_values_clean(
                tenant_id=ticket.tenant_id, kind="ticket", values=custom, existing=ticket.custom
            )
        ticket.subject, ticket.category, ticket.tags = subject[:200], category, tags
        if priority != ticket.priority:
            ticket.priority = priority
            sla.apply_policy(ticket, now, level_id=ticket.customer.level_id)
            _notify_owner_if_urgent(ticket)
        ticket.updated_at = now
        ticket.save(update_fields=[*TICKET_SAVE, "subject", "priority", "category", "tags", "custom"])
        audit(
            tenant=ticket.tenant,
            actor=acting_user,
            action="ticket.update",
            obj=ticket,
            details={"before": before, "priority": priority, "category": ticket.category_id},
        )
    return ticket


def tickets_assign(*, acting_user: User, tickets: list[Ticket], assignee: User | None, team: Team | None = None) -> int:
    """Give tickets to an agent (their team follows) or to a team's queue; bulk from the list."""
    if assignee is not None and not assignable_agents(acting_user).filter(pk=assignee.pk).exists():
        raise DomainError(_("Choose an agent you may give tickets to."), field="assignee")
    if assignee is None and team is None:
        raise DomainError(_("Choose an agent or a team."), field="assignee")
    if team is not None and team.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a team."), field="team")
    changed = 0
    with transaction.atomic():
        for ticket in tickets:
            require_work(acting_user, ticket)
            ticket = _lock(ticket)
            if not ticket.is_open:
                continue
            old = (ticket.assignee_id, ticket.team_id)
            ticket.assignee = assignee
            ticket.team_id = assignee.team_id if assignee is not None else team.pk
            if ticket.status == Status.NEW and assignee is not None:
                ticket.status = Status.OPEN
            if (ticket.assignee_id, ticket.team_id) == old:
                continue
            ticket.updated_at = timezone.now()
            ticket.save(update_fields=["assignee", "team", "status", "updated_at"])
            audit(
                tenant=ticket.tenant,
                actor=acting_user,
                action="ticket.assign",
                obj=ticket,
                details={"from": old[0], "to": ticket.assignee_id, "team": ticket.team_id},
            )
            _notify_assignee(ticket, acting_user)
            changed += 1
    return changed


def tickets_dispatch_apply(*, acting_user: User, plan: list[Planned]) -> int:
    """Apply a dispatch dry run: exactly what it showed, or nothing. Under the rules' and the waiting tickets'
    locks the same Dispatcher decides again; when the tickets waiting or any decision differ from the plan (a
    ticket was taken, a rule or an agent's presence changed), it refuses and nothing is written. Otherwise each
    ticket goes to its team and agent, the round-robin positions move, and each change is audited and its agent
    told. Returns how many tickets got an agent or a team."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    if not plan:
        raise DomainError(_("The dry run placed no ticket."))
    with transaction.atomic():
        dispatcher = Dispatcher(tenant=tenant, lock=True)
        rows = [(t, dispatcher.choose(attrs_of(t))) for t in waiting_tickets(tenant, lock=True)]
        if plan_of(rows) != plan:
            raise DomainError(_("Tickets or rules changed since the dry run. Look at the dry run again."))
        dispatcher.flush()
        changed: list[tuple[Ticket, dict]] = []
        now = timezone.now()
        for ticket, decision in rows:
            old = (ticket.team_id, ticket.assignee_id)
            ticket.team = decision.team
            ticket.assignee = decision.agent
            ticket.dispatch_rule = decision.rule
            if decision.agent is not None and ticket.status == Status.NEW:
                ticket.status = Status.OPEN
            if (ticket.team_id, ticket.assignee_id) == old:
                continue
            ticket.updated_at = now
            ticket.save(update_fields=["team", "assignee", "dispatch_rule", "status", "updated_at"])
            changed.append(
                (ticket, {"team": ticket.team_id, "to": ticket.assignee_id, "rule": ticket.dispatch_rule_id})
            )
            _notify_assignee(ticket, acting_user)
        audit_many(tenant=tenant, actor=acting_user, action="ticket.dispatch", entries=changed)
    return len(changed)


def tickets_close(*, acting_user: User, tickets: list[Ticket]) -> int:
    closed = 0
    with transaction.atomic():
        for ticket in tickets:
            if ticket.status != Status.CLOSED:
                ticket_set_status(acting_user=acting_user, ticket=ticket, status=Status.CLOSED)
                closed += 1
    return closed
