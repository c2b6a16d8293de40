"""Sample URL arguments for the service desk's patterns (see samples_crm.py for the contract).

Every sample first plants the tenant's service rows (idempotently, marked with its marker, tests/security/marks.py): a ticket with a reply (with a file) and a note,
a category, SLA policies, dispatch rules and canned replies; destructive endpoints get rows of their own."""

from django.core.files.base import ContentFile

from customers.models import Customer
from service.models import CannedReply, DispatchRule, SlaPolicy, Ticket, TicketAttachment, TicketCategory
from service.services.ticket import ticket_create, ticket_reply

from .marks import named

CUSTOMER = "MARKA 云帆科技有限公司"


def plant(world) -> dict:
    tenant = world.tenant
    if not Ticket.objects.filter(tenant=tenant, subject=named(world, "MARKA ticket")).exists():
        customer = Customer.objects.get(tenant=tenant, name=named(world, CUSTOMER), deleted_at__isnull=True)
        category = TicketCategory.objects.create(tenant=tenant, name=named(world, "MARKA category"))
        SlaPolicy.objects.create(tenant=tenant, priority="normal", first_response_minutes=60, resolution_minutes=240)
        DispatchRule.objects.create(
            tenant=tenant, name=named(world, "MARKA rule"), team=world.service_team, keywords=[named(world, "MARKA")]
        )
        CannedReply.objects.create(tenant=tenant, title=named(world, "MARKA canned"), body=named(world, "MARKA body"))
        ticket = ticket_create(
            tenant=tenant,
            acting_user=world.agent,
            customer=customer,
            subject=named(world, "MARKA ticket"),
            description=named(world, "MARKA description"),
            category=category,
        )
        ticket_reply(
            acting_user=world.agent,
            ticket=ticket,
            body=named(world, "MARKA reply"),
            public=True,
            files=[ContentFile(named(world, "MARKA file").encode(), name=named(world, "MARKA file.txt"))],
        )
        ticket_reply(acting_user=world.agent, ticket=ticket, body=named(world, "MARKA note"), public=False)
    return {
        "ticket": Ticket.objects.get(tenant=tenant, subject=named(world, "MARKA ticket")),
        "attachment": TicketAttachment.objects.get(tenant=tenant, ticket__subject=named(world, "MARKA ticket")),
        "category": TicketCategory.objects.get(tenant=tenant, name=named(world, "MARKA category")),
        # The delete endpoints' rows come back when a viewer check removed them.
        "policy": SlaPolicy.objects.get_or_create(
            tenant=tenant,
            priority="low",
            level=None,
            defaults={"first_response_minutes": 60, "resolution_minutes": 240},
        )[0],
        "policy_to_edit": SlaPolicy.objects.get_or_create(
            tenant=tenant,
            priority="high",
            level=None,
            defaults={"first_response_minutes": 30, "resolution_minutes": 120},
        )[0],
        "rule": DispatchRule.objects.get(tenant=tenant, name=named(world, "MARKA rule")),
        "rule_to_delete": DispatchRule.objects.get_or_create(
            tenant=tenant, name=named(world, "MARKA rule to delete"), defaults={"team": world.service_team}
        )[0],
        "canned_to_delete": CannedReply.objects.get_or_create(
            tenant=tenant, title=named(world, "MARKA canned to delete"), defaults={"body": named(world, "MARKA body")}
        )[0],
    }


def _pk(key):
    return lambda w: {"pk": plant(w)[key].pk}


SAMPLES = {
    "service:ticket_detail": _pk("ticket"),
    "service:attachment": _pk("attachment"),
    "service:ticket_reply": _pk("ticket"),
    "service:ticket_status": _pk("ticket"),
    "service:ticket_edit": _pk("ticket"),
    "service:ticket_assign": _pk("ticket"),
    "service:category_toggle": _pk("category"),
    "service:sla_edit": _pk("policy_to_edit"),
    "service:sla_delete": _pk("policy"),
    "service:rule_edit": _pk("rule"),
    "service:rule_delete": _pk("rule_to_delete"),
    "service:canned_delete": _pk("canned_to_delete"),
    "service:inbound_email": lambda w: {"tenant": w.tenant.slug},
    "service:public_ticket": lambda w: {"tenant": w.tenant.slug},
    "service:public_ticket_thanks": lambda w: {"tenant": w.tenant.slug},
}

PUBLIC = {
    "service:public_ticket": "the company's public ticket form (honeypot, fill-time token, rate limit)",
    "service:public_ticket_thanks": "the thank-you page after the public ticket form",
    "service:inbound_email": "mail providers post messages; the company's secret header is the credential",
}
