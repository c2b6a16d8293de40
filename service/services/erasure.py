"""What the service desk keeps about a person, exported and erased on their request (个人信息保护法): their tickets
(subject, description), the conversation on them and the files attached to them. Registered as a crm.registry.PersonalDataHolder;
customers.services.privacy.contact_personal_data and contact_erase (inside its transaction) call it."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from crm.models import User
from crm.services.erasure import SCANNED_TYPES, PersonalValues, file_mentions, files_delete_on_commit, rows_scrub
from customers.models import Contact, Customer
from service.models import Ticket, TicketAttachment, TicketMessage


def _about(contact: Contact, customer: Customer) -> Q:
    """The person's tickets: those of the contact, and every ticket of a person-type customer (who is the person)."""
    condition = Q(contact=contact)
    if customer.kind == Customer.Kind.PERSON:
        condition |= Q(customer=customer)
    return condition


def service_personal_data_export(
    *, acting_user: User, contact: Contact, customer: Customer
) -> dict[str, list[dict[str, Any]]]:
    """The person's tickets with their messages (internal notes too: they are about the person)."""
    tickets = list(
        Ticket.objects.filter(tenant_id=acting_user.tenant_id).filter(_about(contact, customer)).order_by("pk")
    )
    messages = TicketMessage.objects.filter(tenant_id=acting_user.tenant_id, ticket__in=tickets).order_by(
        "created_at", "pk"
    )
    return {
        "tickets": [
            {"number": t.number, "subject": t.subject, "description": t.description, "at": t.created_at.isoformat()}
            for t in tickets
        ],
        "ticket_messages": [
            {"ticket": m.ticket_id, "kind": m.kind, "body": m.body, "at": m.created_at.isoformat()} for m in messages
        ],
    }


def service_personal_data_erase(
    *, acting_user: User, contact: Contact, customer: Customer, scrub: PersonalValues
) -> list[tuple[str, Any]]:
    """The person's values (name too) replaced in their tickets' subjects, descriptions and messages; their phone,
    email or WeChat id replaced in any other ticket or message mentioning it. Every file on the person's tickets is
    removed (row and stored file, once the erasure commits), and a text or Office file on another ticket that holds
    their phone, email or WeChat id. The tickets stay."""
    tenant_id = acting_user.tenant_id
    about = _about(contact, customer)
    tickets = rows_scrub(Ticket.objects.filter(tenant_id=tenant_id), about, ("subject", "description"), scrub)
    rows_scrub(TicketMessage.objects.filter(tenant_id=tenant_id), Q(ticket_id__in=tickets), ("body",), scrub)
    attachments = TicketAttachment.objects.filter(tenant_id=tenant_id)
    gone = list(attachments.filter(ticket_id__in=tickets))
    gone += [
        a for a in attachments.exclude(ticket_id__in=tickets).filter(SCANNED_TYPES) if file_mentions(a.file, scrub)
    ]
    files_delete_on_commit((a.file.storage, a.file.name) for a in gone)
    attachments.filter(pk__in=[a.pk for a in gone]).delete()
    return [(Ticket._meta.label_lower, pk) for pk in tickets] + [
        (TicketAttachment._meta.label_lower, a.pk) for a in gone
    ]
