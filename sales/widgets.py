"""Home-page widget of the sales funnel: my best open leads and my opportunities closing soon (four queries, five for managers)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from crm.models import Role
from crm.workcalendar.selectors import local_today, user_day_bounds, user_today
from customers.models import Customer
from sales.access import can_edit_customer, followup_editable_by
from sales.forms.followup import FollowUpForm
from sales.models import (
    Appointment,
    Contract,
    FollowUp,
    Instalment,
    Lead,
    Opportunity,
    Order,
    Receipt,
    StageKind,
    Task,
)
from sales.selectors.customer import mark_customer_visibility
from sales.selectors.lead_pool import with_lead_fallback_at
from sales.selectors.task import task_counts

SOON_DAYS = 30


def my_pipeline(request: HttpRequest) -> dict:
    user, tenant = request.user, request.tenant
    mine = Lead.objects.visible_to(user).filter(owner=user).open()
    counts = mine.aggregate(total=Count("pk"), new=Count("pk", filter=Q(status="new")))
    leads = list(mine.order_by("-score", "-created_at", "-pk")[:5])
    today = local_today(tenant)
    closing = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, status=StageKind.OPEN, expected_close_date__lte=today + timedelta(days=SOON_DAYS))
        .select_related("customer", "stage")
        .order_by("expected_close_date", "pk")
    )
    opportunities = list(closing[:5])
    totals = list(closing.order_by().values("currency").annotate(total=Sum("amount")).order_by("currency"))
    # Managers and admins hand out the leads nobody holds yet.
    unassigned = None
    if user.has_any_role(Role.ADMIN, Role.MANAGER):
        unassigned = Lead.objects.visible_to(user).unassigned().open().count()
    return {
        "unassigned": unassigned,
        "lead_counts": counts,
        "leads": leads,
        "opportunities": opportunities,
        "totals": totals,
        "today": today,
        "soon_days": SOON_DAYS,
    }


def followup_panel_context(request: HttpRequest, customer: Customer, form: FollowUpForm | None = None) -> dict:
    """The customer page's follow-up panel: the timeline and, for those who may change the customer, the form."""
    can_log = can_edit_customer(request, customer)
    follow_ups = list(
        FollowUp.objects.filter(tenant_id=customer.tenant_id, customer=customer)
        .select_related("author", "contact")
        .order_by("-happened_at", "-pk")[:20]
    )
    for follow_up in follow_ups:
        follow_up.can_edit = followup_editable_by(request.user, follow_up)
    if can_log and form is None:
        form = FollowUpForm(customer=customer)
    return {"customer": customer, "follow_ups": follow_ups, "form": form if can_log else None}


def upcoming_panel_context(request: HttpRequest, customer: Customer) -> dict:
    tasks = list(
        Task.objects.visible_to(request.user)
        .filter(customer=customer)
        .open()
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")[:10]
    )
    for task in tasks:
        task.customer_visible = True
    appointments = list(
        Appointment.objects.visible_to(request.user)
        .live()
        .filter(customer=customer, end_at__gte=timezone.now())
        .select_related("owner")
        .order_by("start_at", "pk")[:5]
    )
    return {"customer": customer, "tasks": tasks, "appointments": appointments}


def orders_panel_context(request: HttpRequest, customer: Customer) -> dict:
    orders = Order.objects.filter(tenant_id=customer.tenant_id, customer=customer).counted()
    return {
        "customer": customer,
        "orders": list(orders.order_by("-ordered_on", "-pk")[:10]),
        "totals": list(orders.order_by().values("currency").annotate(total=Sum("amount"), count=Count("pk"))),
        "can_record": can_edit_customer(request, customer),
    }


def home_tasks_context(request: HttpRequest) -> dict:
    """The home widget: my overdue and today's open tasks, and today's appointments (3 queries); "today" is the
    user's own day."""
    user = request.user
    today = user_today(user)
    today_start, today_end = user_day_bounds(user, today)
    tasks = list(
        Task.objects.visible_to(user)
        .filter(assignee=user, due_at__lt=today_end)
        .open()
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")[:10]
    )
    mark_customer_visibility(user, tasks)
    appointments = list(
        Appointment.objects.visible_to(user)
        .live()
        .involving([user.pk])
        .filter(start_at__lt=today_end, end_at__gt=today_start)
        .select_related("customer")
        .order_by("start_at", "pk")[:6]
    )
    return {"tasks": tasks, "appointments": appointments, "counts": task_counts(user, request.tenant)}


def opportunities_panel_context(request: HttpRequest, customer: Customer) -> dict:
    """The customer page's opportunities panel: those the user may see (one query) and a button to open one."""
    opportunities = list(
        Opportunity.objects.visible_to(request.user)
        .filter(customer=customer)
        .select_related("stage", "owner")
        .order_by("-created_at", "-pk")[:10]
    )
    can_open = request.user.has_any_role(Role.ADMIN, Role.MANAGER, Role.REP) and (
        Customer.objects.editable_by(request.user).filter(pk=customer.pk).exists()
    )
    return {"customer": customer, "opportunities": opportunities, "can_open": can_open}


def contracts_panel_context(request: HttpRequest, customer: Customer) -> dict:
    """The customer page's contracts with their collection: received, outstanding and overdue (3 queries)."""
    contracts = list(
        Contract.objects.visible_to(request.user)
        .filter(customer=customer)
        .annotate(received_total=Coalesce(Sum("receipts__amount"), Decimal(0)))
        .order_by("-created_at", "-pk")[:10]
    )
    today = local_today(request.tenant)
    overdue = dict(
        Instalment.objects.filter(contract__in=[c.pk for c in contracts], due_on__lt=today)
        .open()
        .values("contract")
        .annotate(total=Sum(F("amount") - F("received")))
        .values_list("contract", "total")
    )
    for contract in contracts:
        contract.outstanding = contract.amount - contract.received_total
        contract.overdue = overdue.get(contract.pk, Decimal(0))
    receipts = list(Receipt.objects.filter(contract__in=[c.pk for c in contracts]).select_related("contract")[:10])
    return {"customer": customer, "contracts": contracts, "receipts": receipts}


def my_leads_falling_back(request: HttpRequest) -> dict:
    """The rep's open leads with a fall-back date, soonest first, as the lead pools' own arithmetic computes it."""
    user = request.user
    mine = Lead.objects.visible_to(user).filter(owner=user).open()
    leads = list(
        with_lead_fallback_at(mine, request.tenant).filter(fallback_at__isnull=False).order_by("fallback_at", "pk")[:6]
    )
    return {"leads": leads}
