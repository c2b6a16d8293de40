"""What the service desk shows on the customer page (the customer's latest tickets, two queries) and on the home page
of those who work the desk (their open tickets, two queries)."""

from __future__ import annotations

from django.db.models import Count, F, Q
from django.http import HttpRequest
from django.utils import timezone

from customers.models import Customer
from service.access import works_desk
from service.filters import BREACHING_SOON
from service.models import OPEN_STATUSES, Status, Ticket
from service.services.sla import timer_state

PANEL_SIZE = 10
# The open tickets of one's own listed on the home page, the soonest due first.
HOME_SIZE = 5


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


def my_tickets(request: HttpRequest) -> dict:
    """The desk's home widget: how many open tickets are one's own, breaching soon and waiting for an assignee
    (one query), and one's own that are due first (one query)."""
    user = request.user
    soon = timezone.now() + BREACHING_SOON
    visible = Ticket.objects.visible_to(user).filter(status__in=OPEN_STATUSES)
    counts = visible.aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        breaching=Count("pk", filter=Q(due_at__lte=soon, status__in=[Status.NEW, Status.OPEN])),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
    )
    first = list(
        visible.filter(assignee=user)
        .select_related("customer")
        .order_by(F("due_at").asc(nulls_last=True), "pk")[:HOME_SIZE]
    )
    now = timezone.now()
    for ticket in first:
        ticket.timer = timer_state(ticket, now)
    return {"counts": counts, "tickets": first}
