"""The SLA clock of a ticket, on the tenant's business calendar (crm.workcalendar).

The clock keeps the business minutes already used (`sla_spent_minutes`) up to the start of the running segment
(`sla_since`, None while paused). Every deadline is `add_business_minutes(sla_since, target - spent)`, so:
- pausing (pending the customer) banks the business time used so far and clears the deadlines;
- resuming starts a new segment at the resume instant: the paused time is never counted;
- a new policy (the priority or the customer level changed) banks the time used and applies the new targets to
  what is left; a changed working calendar recomputes the deadlines of the running segment.
The functions change the ticket in memory; the caller saves it (`SLA_FIELDS`).
"""

from __future__ import annotations

import datetime as dt

from crm.workcalendar.selectors import add_business_minutes, business_minutes_between
from service.models import Escalation, SlaPolicy, Status, Ticket

# The share of a target after which a ticket is "at risk".
AT_RISK_SHARE = 0.8

SLA_FIELDS = [
    "sla_policy",
    "first_response_minutes",
    "resolution_minutes",
    "sla_spent_minutes",
    "sla_since",
    "first_response_due_at",
    "resolution_due_at",
    "due_at",
    "at_risk_at",
    "next_escalation_at",
]


def policy_from(policies: list[SlaPolicy], priority: str, level_id: int | None) -> SlaPolicy | None:
    """Among the tenant's policies: the one of that priority for the customer's level, else the one for every
    level, else None."""
    of_priority = [p for p in policies if p.priority == priority]
    if level_id is not None:
        found = next((p for p in of_priority if p.level_id == level_id), None)
        if found is not None:
            return found
    return next((p for p in of_priority if p.level_id is None), None)


def policy_for(tenant_id: int, priority: str, level_id: int | None) -> SlaPolicy | None:
    return policy_from(list(SlaPolicy.objects.filter(tenant_id=tenant_id, priority=priority)), priority, level_id)


def _bank(ticket: Ticket, now: dt.datetime) -> None:
    """Add the running segment's business minutes to the time used and start a new segment at `now`."""
    if ticket.sla_since is not None:
        used = business_minutes_between(ticket.tenant, ticket.sla_since, now)
        ticket.sla_spent_minutes += max(used, 0)
        ticket.sla_since = now


def _targets(ticket: Ticket) -> list[tuple[str, int]]:
    """The targets still running: first response until it is given, resolution until resolved."""
    targets = []
    if ticket.first_response_minutes and ticket.first_responded_at is None:
        targets.append((Escalation.Target.FIRST_RESPONSE, ticket.first_response_minutes))
    if ticket.resolution_minutes:
        targets.append((Escalation.Target.RESOLUTION, ticket.resolution_minutes))
    return targets


def step_instants(ticket: Ticket) -> list[tuple[str, str, dt.datetime]]:
    """(target, step, instant) of every escalation step of the running clock."""
    if ticket.sla_since is None:
        return []
    steps = []
    for target, minutes in _targets(ticket):
        risk = add_business_minutes(ticket.tenant, ticket.sla_since, minutes * AT_RISK_SHARE - ticket.sla_spent_minutes)
        due = add_business_minutes(ticket.tenant, ticket.sla_since, minutes - ticket.sla_spent_minutes)
        steps.append((target, Escalation.Step.AT_RISK, risk))
        steps.append((target, Escalation.Step.BREACHED, due))
    return steps


def recompute(ticket: Ticket, *, done: set[tuple[str, str]] | None = None) -> None:
    """The stored deadlines from the clock's state. `done`: the (target, step) escalations already taken (read
    from the database when not given)."""
    steps = step_instants(ticket)
    by_key = {(target, step): at for target, step, at in steps}
    ticket.first_response_due_at = by_key.get((Escalation.Target.FIRST_RESPONSE, Escalation.Step.BREACHED))
    ticket.resolution_due_at = by_key.get((Escalation.Target.RESOLUTION, Escalation.Step.BREACHED))
    dues = [at for (_t, step), at in by_key.items() if step == Escalation.Step.BREACHED]
    risks = [at for (_t, step), at in by_key.items() if step == Escalation.Step.AT_RISK]
    ticket.due_at = min(dues) if dues else None
    ticket.at_risk_at = min(risks) if risks else None
    if steps and done is None:
        done = set(Escalation.objects.filter(ticket_id=ticket.pk).values_list("target", "step")) if ticket.pk else set()
    pending = [at for key, at in by_key.items() if key not in (done or set())]
    ticket.next_escalation_at = min(pending) if pending else None


def apply_policy(
    ticket: Ticket,
    now: dt.datetime,
    *,
    level_id: int | None,
    policies: list[SlaPolicy] | None = None,
    done: set[tuple[str, str]] | None = None,
) -> None:
    """Choose the policy for the ticket's priority and the customer's level; the time used so far is kept.
    `policies` (the tenant's, read once by a job) and `done` (see recompute) spare the queries."""
    _bank(ticket, now)
    if policies is None:
        policy = policy_for(ticket.tenant_id, ticket.priority, level_id)
    else:
        policy = policy_from(policies, ticket.priority, level_id)
    ticket.sla_policy = policy
    ticket.first_response_minutes = policy.first_response_minutes if policy else None
    ticket.resolution_minutes = policy.resolution_minutes if policy else None
    recompute(ticket, done=done)


def start(ticket: Ticket, now: dt.datetime, *, level_id: int | None) -> None:
    """A new ticket's clock: nothing used, running from `now` (paused if it starts pending the customer)."""
    ticket.sla_spent_minutes = 0
    ticket.sla_since = None if ticket.status == Status.PENDING else now
    apply_policy(ticket, now, level_id=level_id)


def pause(ticket: Ticket, now: dt.datetime) -> None:
    _bank(ticket, now)
    ticket.sla_since = None
    recompute(ticket)


def resume(ticket: Ticket, now: dt.datetime) -> None:
    if ticket.sla_since is None:
        ticket.sla_since = now
    recompute(ticket)


def responded(ticket: Ticket, now: dt.datetime) -> None:
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        recompute(ticket)


def stop(ticket: Ticket, now: dt.datetime) -> None:
    """Resolved or closed: the clock stops and no deadline runs."""
    _bank(ticket, now)
    ticket.sla_since = None
    recompute(ticket)


def timer_state(ticket: Ticket, now: dt.datetime) -> str:
    """What the list and the page show: "paused", "breached", "at_risk", "on_track" or "" (no SLA or stopped)."""
    if ticket.status == Status.PENDING and ticket.resolution_minutes:
        return "paused"
    if ticket.due_at is None:
        return ""
    if ticket.due_at <= now:
        return "breached"
    if ticket.at_risk_at is not None and ticket.at_risk_at <= now:
        return "at_risk"
    return "on_track"
