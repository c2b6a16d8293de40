"""The escalation job: at risk (AT_RISK_SHARE of a target used) → the assignee is told; breached → the team's
manager is told and the priority goes up one step. Each step once per ticket and target: the step is a row unique
on (ticket, target, step), written with its notifications in the transaction that holds the ticket's row lock, so
two workers at once or a rerun after a crash take it once.

Set-based: a batch of due tickets costs a fixed number of statements whatever its size (lock and read the tickets,
read their steps taken, insert the new steps, the notifications and their emails, the audit events, and one
UPDATE of the tickets, crm.database.bulk.rows_update); the tenant's teams and SLA policies are read once per run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import managers_lookup
from crm.database.bulk import rows_update
from crm.models import Team, User
from crm.services.audit import audit_many
from crm.services.notification import Note, lazy_format, notify_many
from crm.tenancy import tenants_having
from service.models import OPEN_STATUSES, PRIORITY_ORDER, Escalation, SlaPolicy, Status, Ticket
from service.services import sla
from service.services.ticket import urgent_owner_note

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


@dataclass
class _Run:
    """What one tenant's run reads once: its teams (for the managers) and its SLA policies."""

    teams: dict[int, Team]
    manager_of: Callable[[User], User | None]
    policies: list[SlaPolicy]

    @classmethod
    def load(cls, tenant_id: int) -> _Run:
        teams, manager_of = managers_lookup(tenant_id)
        return cls(teams, manager_of, list(SlaPolicy.objects.filter(tenant_id=tenant_id)))

    def team_manager(self, ticket: Ticket) -> User | None:
        team = self.teams.get(ticket.team_id) if ticket.team_id else None
        if team is not None and team.manager_id and team.manager.is_active:
            return team.manager
        if ticket.assignee_id:
            return self.manager_of(ticket.assignee)
        return None


def _raise_priority(ticket: Ticket, now: dt.datetime, run: _Run, done: set) -> tuple[str, str] | None:
    """One step up, in memory (the time used is kept under the new priority's policy): (from, to), or None when
    already urgent."""
    index = PRIORITY_ORDER.index(ticket.priority)
    if index + 1 >= len(PRIORITY_ORDER):
        return None
    old = ticket.priority
    ticket.priority = PRIORITY_ORDER[index + 1]
    sla.apply_policy(ticket, now, level_id=ticket.customer.level_id, policies=run.policies, done=done)
    return old, ticket.priority


def _step_notes(ticket: Ticket, target: str, step: str, run: _Run) -> Note | None:
    url = reverse("service:ticket_detail", args=[ticket.pk])
    key = f"ticket-escalation:{ticket.pk}:{target}:{step}"
    label = TARGET_LABELS[target]
    if step == Escalation.Step.AT_RISK:
        if not (ticket.assignee_id and ticket.assignee.is_active):
            return None
        due = ticket.first_response_due_at if target == Escalation.Target.FIRST_RESPONSE else ticket.resolution_due_at
        title = lazy_format(
            _("%(number)s is at risk: %(target)s due %(due)s"),
            number=ticket.display_number,
            target=label,
            due=timezone.localtime(due, ticket.tenant.tzinfo).strftime("%Y-%m-%d %H:%M"),
        )
        return Note(recipient=ticket.assignee, title=title, body=ticket.subject, url=url, key=key)
    manager = run.team_manager(ticket)
    if manager is None:
        return None
    title = lazy_format(_("%(number)s breached its %(target)s target"), number=ticket.display_number, target=label)
    return Note(recipient=manager, title=title, body=ticket.subject, url=url, key=key)


def _escalate_batch(tenant_id: int, ids: list[int], now: dt.datetime, run: _Run) -> int:
    """One transaction for a batch: the due tickets no other worker holds are locked (skip locked); their steps
    taken are read, the due ones inserted, notified and audited, and the tickets written back, each in one
    statement. Tickets another worker holds are its."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("tenant", "customer", "customer__owner", "assignee")
            .filter(pk__in=ids, next_escalation_at__lte=now, status__in=[Status.NEW, Status.OPEN])
            .order_by("pk")
        )
        if not tickets:
            return 0
        done: dict[int, set] = {t.pk: set() for t in tickets}
        for ticket_id, target, step in Escalation.objects.filter(
            tenant_id=tenant_id, ticket_id__in=list(done)
        ).values_list("ticket_id", "target", "step"):
            done[ticket_id].add((target, step))
        due = [
            (ticket, target, step)
            for ticket in tickets
            for target, step, at in sla.step_instants(ticket)
            if at <= now and (target, step) not in done[ticket.pk]
        ]
        Escalation.objects.bulk_create(
            [Escalation(tenant_id=tenant_id, ticket=t, target=target, step=step) for t, target, step in due]
        )
        notes: list[Note] = []
        raised: list[tuple[Ticket, dict]] = []
        for ticket, target, step in due:
            done[ticket.pk].add((target, step))
            note = _step_notes(ticket, target, step, run)
            if note is not None:
                notes.append(note)
            if step == Escalation.Step.BREACHED:
                change = _raise_priority(ticket, now, run, done[ticket.pk])
                if change is not None:
                    raised.append((ticket, {"from": change[0], "to": change[1]}))
                    owner_note = urgent_owner_note(ticket)
                    if owner_note is not None:
                        notes.append(owner_note)
        for ticket in tickets:
            sla.recompute(ticket, done=done[ticket.pk])
            ticket.updated_at = now
        rows_update(Ticket, tickets, [*sla.SLA_FIELDS, "priority", "updated_at"])
        if raised:
            audit_many(tenant=tickets[0].tenant, actor=None, action="ticket.escalate_priority", entries=raised)
        notify_many(tenant_id=tenant_id, notes=notes)
    return len(due)


def escalations_run(*, tenant_id: int, now: dt.datetime | None = None) -> int:
    """One tenant's due escalation steps, BATCH tickets a transaction; returns how many steps were taken."""
    now = now or timezone.now()
    taken = 0
    last = 0
    run = None
    while True:
        ids = list(_due(tenant_id, now).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return taken
        run = run or _Run.load(tenant_id)
        taken += _escalate_batch(tenant_id, ids, now, run)
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
