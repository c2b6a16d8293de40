"""The escalation job: at risk (AT_RISK_SHARE of a target used) → the assignee is told; breached → the team's
manager is told and the priority goes up one step. Each step once per ticket and target: the step is a row unique
on (ticket, target, step), written with its notifications in the transaction that holds the ticket's row lock, so
two workers at once or a rerun after a crash take it once."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import manager_of
from crm.models import User
from crm.services.notification import lazy_format, notify
from crm.tenancy import tenants_having
from service.models import OPEN_STATUSES, Escalation, Status, Ticket
from service.services import sla
from service.services.ticket import ticket_raise_priority

BATCH = 500

TARGET_LABELS = {
    Escalation.Target.FIRST_RESPONSE: _("first response"),
    Escalation.Target.RESOLUTION: _("resolution"),
}


def _due(tenant_id: int, now: dt.datetime):
    return Ticket.objects.filter(tenant_id=tenant_id, next_escalation_at__lte=now, status__in=[Status.NEW, Status.OPEN])


def tenants_with_due_escalations(now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return tenants_having(
        lambda: Ticket.objects.filter(next_escalation_at__lte=now, status__in=[Status.NEW, Status.OPEN])
    )


def _team_manager(ticket: Ticket) -> User | None:
    if ticket.team_id and ticket.team.manager_id and ticket.team.manager.is_active:
        return ticket.team.manager
    if ticket.assignee_id:
        return manager_of(ticket.assignee)
    return None


def _take_steps(ticket: Ticket, done: set[tuple[str, str]], now: dt.datetime) -> int:
    """Take the ticket's due steps not yet in `done` (the caller holds the ticket's row lock)."""
    taken = 0
    url = reverse("service:ticket_detail", args=[ticket.pk])
    for target, step, at in sla.step_instants(ticket):
        if at > now or (target, step) in done:
            continue
        Escalation.objects.create(tenant_id=ticket.tenant_id, ticket=ticket, target=target, step=step)
        done.add((target, step))
        taken += 1
        label = TARGET_LABELS[target]
        if step == Escalation.Step.AT_RISK:
            if ticket.assignee_id and ticket.assignee.is_active:
                due = (
                    ticket.first_response_due_at
                    if target == Escalation.Target.FIRST_RESPONSE
                    else ticket.resolution_due_at
                )
                notify(
                    recipient=ticket.assignee,
                    title=lazy_format(
                        _("%(number)s is at risk: %(target)s due %(due)s"),
                        number=ticket.display_number,
                        target=label,
                        due=timezone.localtime(due, ticket.tenant.tzinfo).strftime("%Y-%m-%d %H:%M"),
                    ),
                    body=ticket.subject,
                    url=url,
                    key=f"ticket-escalation:{ticket.pk}:{target}:{step}",
                )
        else:
            manager = _team_manager(ticket)
            if manager is not None:
                notify(
                    recipient=manager,
                    title=lazy_format(
                        _("%(number)s breached its %(target)s target"), number=ticket.display_number, target=label
                    ),
                    body=ticket.subject,
                    url=url,
                    key=f"ticket-escalation:{ticket.pk}:{target}:{step}",
                )
            ticket_raise_priority(ticket=ticket, now=now)
    return taken


def _escalate_batch(ids: list[int], now: dt.datetime) -> int:
    """One transaction for a batch: the due tickets no other worker holds are locked (skip locked), their steps
    read in one query, taken, and their next escalation instant written; tickets another worker holds are its."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("tenant", "customer", "customer__owner", "assignee", "team", "team__manager")
            .filter(pk__in=ids, next_escalation_at__lte=now, status__in=[Status.NEW, Status.OPEN])
            .order_by("pk")
        )
        done: dict[int, set] = {t.pk: set() for t in tickets}
        for ticket_id, target, step in Escalation.objects.filter(ticket_id__in=list(done)).values_list(
            "ticket_id", "target", "step"
        ):
            done[ticket_id].add((target, step))
        taken = 0
        for ticket in tickets:
            priority = ticket.priority
            taken += _take_steps(ticket, done[ticket.pk], now)
            sla.recompute(ticket, done=done[ticket.pk])
            fields = [*sla.SLA_FIELDS, "updated_at"] + (["priority"] if ticket.priority != priority else [])
            ticket.save(update_fields=fields)
    return taken


def escalations_run(*, tenant_id: int, now: dt.datetime | None = None) -> int:
    """One tenant's due escalation steps, BATCH tickets a transaction; returns how many steps were taken."""
    now = now or timezone.now()
    taken = 0
    last = 0
    while True:
        ids = list(_due(tenant_id, now).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return taken
        taken += _escalate_batch(ids, now)
        last = ids[-1]


def deadlines_recompute(*, tenant_id: int, priority: str = "", now: dt.datetime | None = None) -> int:
    """Move the deadlines of the tenant's unsolved tickets, keeping the business time used and the paused time
    excluded. Without `priority`: the working calendar changed, so every running clock's deadlines are computed
    again on the new calendar. With `priority`: that priority's SLA policies changed, so each unsolved ticket of
    that priority (paused ones too) takes its policy's targets anew. Each ticket under its row lock; tickets
    another worker holds are skipped and keep their own recompute."""
    now = now or timezone.now()
    if priority:
        scope = Ticket.objects.filter(tenant_id=tenant_id, priority=priority, status__in=OPEN_STATUSES)
    else:
        scope = Ticket.objects.filter(tenant_id=tenant_id, sla_since__isnull=False)
    count = 0
    last = 0
    while True:
        ids = list(scope.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return count
        with transaction.atomic():
            tickets = list(
                scope.select_for_update(of=("self",), skip_locked=True)
                .select_related("tenant", "customer")
                .filter(pk__in=ids)
            )
            for ticket in tickets:
                if priority:
                    sla.apply_policy(ticket, now, level_id=ticket.customer.level_id)
                else:
                    sla.recompute(ticket)
                ticket.save(update_fields=sla.SLA_FIELDS)
            count += len(tickets)
        last = ids[-1]
