"""Dispatch: which team and agent a new ticket goes to, by the tenant's ordered rules.

The first enabled rule whose conditions all hold (category, priority, channel, customer level, keywords in the
subject or description; a condition left empty matches anything) gives the ticket to its team, then to one of
the team's agents who is on duty and under the tenant's cap of open tickets — by round-robin (the rule row is
locked, so simultaneous tickets take turns) or to the least loaded. A matching rule whose agents are all away or
full leaves the ticket in its team's queue. Unmatched tickets go to the default team's queue.
Values compare, and the agent is chosen, by the customers' assignment engine (`customers.services.assignment`:
`normalize_value`, `pick_next`), so both kinds of rules take turns and weigh loads the same way.

The same `Dispatcher` drives the real dispatch (`lock=True`, inside the ticket's transaction) and the dry run over
the current unassigned tickets (`lock=False`, writes nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count
from django.db.transaction import TransactionManagementError

from crm.models import Role, Team, Tenant, User
from customers.services.assignment import normalize_value, pick_next
from service.models import OPEN_STATUSES, AgentPresence, DispatchRule, ServiceSettings, Ticket


def service_settings(tenant_id: int) -> ServiceSettings:
    found = ServiceSettings.objects.filter(tenant_id=tenant_id).first()
    if found is None:
        ServiceSettings.objects.bulk_create([ServiceSettings(tenant_id=tenant_id)], ignore_conflicts=True)
        found = ServiceSettings.objects.get(tenant_id=tenant_id)
    return found


def ticket_attrs(*, category_id, priority, channel, level_id, subject, description) -> dict:
    return {
        "category": category_id,
        "priority": priority,
        "channel": channel,
        "level": level_id,
        "text": normalize_value(f"{subject}\n{description}"),
    }


def rule_matches(rule: DispatchRule, attrs: dict) -> bool:
    if rule.category_id and rule.category_id != attrs.get("category"):
        return False
    if rule.priorities and attrs.get("priority") not in rule.priorities:
        return False
    if rule.channels and attrs.get("channel") not in rule.channels:
        return False
    if rule.level_id and rule.level_id != attrs.get("level"):
        return False
    if rule.keywords:
        text = attrs.get("text", "")
        if not any(normalize_value(k) in text for k in rule.keywords if normalize_value(k)):
            return False
    return True


def open_loads(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Open tickets each agent holds (what the cap limits and "least loaded" compares)."""
    rows = (
        Ticket.objects.filter(tenant_id=tenant_id, assignee_id__in=user_ids, status__in=OPEN_STATUSES)
        .order_by()
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {pk: 0 for pk in user_ids} | dict(rows)


@dataclass
class Decision:
    team: Team | None
    agent: User | None
    rule: DispatchRule | None


class Dispatcher:
    """Decides for tickets one after another, keeping loads and round-robin positions in memory."""

    def __init__(self, *, tenant: Tenant, lock: bool):
        if lock and not connection.in_atomic_block:
            raise TransactionManagementError("Dispatch must run inside transaction.atomic().")
        self.tenant = tenant
        self.lock = lock
        rules = DispatchRule.objects.filter(tenant=tenant, active=True).select_related("team")
        if lock:
            rules = rules.select_for_update(of=("self",))
        self.rules = list(rules.order_by("order", "pk"))
        self.settings = service_settings(tenant.pk)
        self.default_team = (
            Team.objects.filter(tenant=tenant, pk=self.settings.default_team_id).first()
            if self.settings.default_team_id
            else None
        )
        team_ids = {r.team_id for r in self.rules}
        away = AgentPresence.objects.filter(tenant=tenant, away=True).values("user_id")
        agents = list(
            User.objects.filter(tenant=tenant, is_active=True, team_id__in=team_ids)
            .with_role(Role.AGENT)
            .exclude(pk__in=away)
            .order_by("pk")
        )
        self.agents: dict[int, list[User]] = {}
        for agent in agents:
            self.agents.setdefault(agent.team_id, []).append(agent)
        self.load: Counter = Counter(open_loads(tenant.pk, [a.pk for a in agents]))
        self.cursor = {r.pk: r.last_agent_id for r in self.rules}
        self.moved: set[int] = set()

    def pick(self, rule: DispatchRule) -> User | None:
        """The agent on duty and under the cap the rule gives its next ticket to (the assignment engine's choice),
        or None: the ticket waits in the team's queue."""
        if rule.method == DispatchRule.Method.QUEUE:
            return None
        cap = self.settings.max_open_per_agent
        return pick_next(
            [a for a in self.agents.get(rule.team_id, []) if cap is None or self.load[a.pk] < cap],
            least_loaded=rule.method == DispatchRule.Method.LEAST_LOADED,
            load=self.load,
            last=self.cursor.get(rule.pk),
        )

    def choose(self, attrs: dict) -> Decision:
        for rule in self.rules:
            if not rule_matches(rule, attrs):
                continue
            agent = self.pick(rule)
            if agent is not None:
                self.load[agent.pk] += 1
                self.cursor[rule.pk] = agent.pk
                self.moved.add(rule.pk)
            return Decision(rule.team, agent, rule)
        return Decision(self.default_team, None, None)

    def flush(self) -> None:
        """Write the round-robin positions (real dispatch only, in its transaction)."""
        if not self.lock:
            raise TransactionManagementError("A dry run writes nothing.")
        for pk in self.moved:
            DispatchRule.objects.filter(tenant=self.tenant, pk=pk).update(last_agent_id=self.cursor[pk])
        self.moved.clear()


DRY_RUN_LIMIT = 200


def waiting_tickets(tenant: Tenant, *, lock: bool = False, limit: int = DRY_RUN_LIMIT):
    """The unassigned open tickets a dry run looks at, oldest first (locked for an apply)."""
    qs = Ticket.objects.filter(tenant=tenant, assignee__isnull=True, status__in=OPEN_STATUSES)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return list(qs.select_related("customer", "team", "category").order_by("created_at", "pk")[:limit])


def dispatch_dry_run(*, tenant: Tenant, limit: int = DRY_RUN_LIMIT) -> list[tuple[Ticket, Decision]]:
    """Where the current unassigned open tickets would go under the enabled rules (oldest first); writes nothing."""
    dispatcher = Dispatcher(tenant=tenant, lock=False)
    return [(t, dispatcher.choose(attrs_of(t))) for t in waiting_tickets(tenant, limit=limit)]


@dataclass(frozen=True)
class Planned:
    """One row of a dry run as the page carries it to the apply: the ticket and where it goes."""

    ticket_id: int
    team_id: int | None
    agent_id: int | None
    rule_id: int | None


def plan_of(rows: list[tuple[Ticket, Decision]]) -> list[Planned]:
    return [
        Planned(t.pk, d.team.pk if d.team else None, d.agent.pk if d.agent else None, d.rule.pk if d.rule else None)
        for t, d in rows
    ]


def plan_encode(plan: list[Planned]) -> str:
    def cell(value: int | None) -> str:
        return "" if value is None else str(value)

    return ";".join(":".join(cell(v) for v in (p.ticket_id, p.team_id, p.agent_id, p.rule_id)) for p in plan)


def plan_decode(text: str) -> list[Planned]:
    """The plan a dry-run page posted; ValueError when it is not one."""
    plan = []
    for row in filter(None, text.split(";")):
        cells = row.split(":")
        if len(cells) != 4 or not all(c == "" or (c.isascii() and c.isdigit()) for c in cells) or not cells[0]:
            raise ValueError(row)
        ticket_id, team_id, agent_id, rule_id = (int(c) if c else None for c in cells)
        plan.append(Planned(ticket_id, team_id, agent_id, rule_id))
    if len(plan) > DRY_RUN_LIMIT:
        raise ValueError("too long")
    return plan


def attrs_of(ticket: Ticket) -> dict:
    return ticket_attrs(
        category_id=ticket.category_id,
        priority=ticket.priority,
        channel=ticket.channel,
        level_id=ticket.customer.level_id,
        subject=ticket.subject,
        description=ticket.description,
    )
