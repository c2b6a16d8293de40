"""What the service desk shows on the customer page: the customer's latest tickets (two queries)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from customers.models import Customer
from service.access import works_desk
from service.models import OPEN_STATUSES, Ticket
from service.services.sla import timer_state

PANEL_SIZE = 10


def tickets_panel_context(request: HttpRequest, customer: Customer) -> dict:
    tickets = Ticket.objects.visible_to(request.user).filter(customer=customer)
    latest = list(tickets.select_related("assignee").order_by("-created_at", "-pk")[:PANEL_SIZE])
    now = timezone.now()
    for ticket in latest:
        ticket.timer = timer_state(ticket, now)
    return {
        "customer": customer,
        "tickets": latest,
        "open_count": tickets.filter(status__in=OPEN_STATUSES).count(),
        "can_create": works_desk(request.user),
    }
