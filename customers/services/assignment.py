"""The assignment engine: which rep (or pool) a new customer or lead goes to, by the tenant's ordered rules —
round-robin taking turns under a row lock, least-loaded, caps, daily quotas, overflow and unmatched pools."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.db.transaction import TransactionManagementError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext_lazy

from crm.models import Role, Team, Tenant, User
from crm.services.notification import lazy_format, notify
from crm.workcalendar.selectors import local_today
from customers.models import (
    AssignmentCursor,
    AssignmentLog,
    AssignmentRule,
    AssignmentRuleLevel,
    AssignmentRuleTag,
    AssignmentSettings,
    Customer,
    Pool,
)
from customers.normalize import nfkc
from customers.services.tenant import default_pool

CUSTOMER = "customer"


LEAD = "lead"


RECORD_KINDS = (CUSTOMER, LEAD)


MAX_VALUES = 30


MAX_VALUE_LENGTH = 50


def normalize_value(value: Any) -> str:
    """How rule values and record values compare: NFKC, trimmed, case-folded ("ＶＩＰ " = "vip")."""
    return nfkc(str(value or "")).casefold()


LoadCounter = Callable[[int, list[int]], dict[int, int]]


_load_counters: dict[str, LoadCounter] = {}


def register_load_counter(key: str, counter: LoadCounter) -> None:
    """Add to every rep's load: `counter(tenant_id, user_ids)` returns {user_id: open records}. Keyed, so an
    AppConfig.ready() that runs twice registers once."""
    _load_counters[key] = counter


def held_customers(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Live customers each user holds: what the tenant's cap (max_customers_per_rep) limits."""
    if not user_ids:
        return {}
    rows = (
        Customer.objects.filter(tenant_id=tenant_id, owner_id__in=user_ids, deleted_at__isnull=True)
        .order_by()
        .values_list("owner_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


register_load_counter("customers.held", held_customers)


def loads_of(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Each user's load: the sum of every registered counter (customers held, open leads, …)."""
    total: Counter = Counter()
    for counter in _load_counters.values():
        total.update(counter(tenant_id, user_ids))
    return {pk: total.get(pk, 0) for pk in user_ids}


@dataclass(frozen=True)
class RuleSpec:
    """A rule's decision-relevant values: from a saved rule or from a form's unsaved values (the dry run)."""

    pk: int | None
    name: str
    order: int
    applies_to: str
    team_id: int
    include_subteams: bool
    method: str
    daily_quota: int | None
    overflow_pool_id: int | None
    sources: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    industries: frozenset[str] = frozenset()
    level_ids: frozenset[int] = frozenset()
    tag_ids: frozenset[int] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        pk: int | None,
        name: str,
        order: int,
        applies_to: str,
        team_id: int,
        include_subteams: bool,
        method: str,
        daily_quota: int | None,
        overflow_pool_id: int | None,
        sources: Iterable[str] = (),
        regions: Iterable[str] = (),
        industries: Iterable[str] = (),
        level_ids: Iterable[int] = (),
        tag_ids: Iterable[int] = (),
    ) -> RuleSpec:
        def norm(values: Iterable[str]) -> frozenset[str]:
            return frozenset(v for v in (normalize_value(x) for x in values) if v)

        return cls(
            pk=pk,
            name=name,
            order=order,
            applies_to=applies_to,
            team_id=team_id,
            include_subteams=include_subteams,
            method=method,
            daily_quota=daily_quota,
            overflow_pool_id=overflow_pool_id,
            sources=norm(sources),
            regions=norm(regions),
            industries=norm(industries),
            level_ids=frozenset(int(x) for x in level_ids),
            tag_ids=frozenset(int(x) for x in tag_ids),
        )

    @classmethod
    def of(cls, rule: AssignmentRule, *, level_ids: Iterable[int] | None = None, tag_ids: Iterable[int] | None = None):
        if level_ids is None:
            level_ids = AssignmentRuleLevel.objects.filter(rule=rule).values_list("level_id", flat=True)
        if tag_ids is None:
            tag_ids = AssignmentRuleTag.objects.filter(rule=rule).values_list("tag_id", flat=True)
        return cls.build(
            pk=rule.pk,
            name=rule.name,
            order=rule.order,
            applies_to=rule.applies_to,
            team_id=rule.team_id,
            include_subteams=rule.include_subteams,
            method=rule.method,
            daily_quota=rule.daily_quota,
            overflow_pool_id=rule.overflow_pool_id,
            sources=rule.sources,
            regions=rule.regions,
            industries=rule.industries,
            level_ids=level_ids,
            tag_ids=tag_ids,
        )

    @property
    def sort_key(self) -> tuple[int, float]:
        return (self.order, self.pk if self.pk is not None else float("inf"))

    @property
    def has_conditions(self) -> bool:
        return bool(self.sources or self.regions or self.industries or self.level_ids or self.tag_ids)

    def applies(self, kind: str) -> bool:
        if self.applies_to == AssignmentRule.AppliesTo.BOTH:
            return True
        return (kind == CUSTOMER and self.applies_to == AssignmentRule.AppliesTo.CUSTOMERS) or (
            kind == LEAD and self.applies_to == AssignmentRule.AppliesTo.LEADS
        )

    def matches(self, attrs: dict) -> bool:
        """Every condition the rule sets holds; within a condition, any of its values does. Attributes: source,
        region, industry (text), level (a level or its id), tags (levels or ids)."""
        if self.sources and normalize_value(attrs.get("source")) not in self.sources:
            return False
        if self.regions and normalize_value(attrs.get("region")) not in self.regions:
            return False
        if self.industries and normalize_value(attrs.get("industry")) not in self.industries:
            return False
        if self.level_ids and _pk(attrs.get("level")) not in self.level_ids:
            return False
        if self.tag_ids and not (self.tag_ids & {_pk(t) for t in attrs.get("tags") or ()}):
            return False
        return True


def _pk(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(getattr(value, "pk", value))


def rules_of(tenant: Tenant, *, active_only: bool = True) -> list[tuple[AssignmentRule, RuleSpec]]:
    """The tenant's rules in order, each with its spec (three queries whatever the number of rules)."""
    rules = list(AssignmentRule.objects.filter(tenant=tenant, **({"active": True} if active_only else {})))
    ids = [r.pk for r in rules]
    levels, tags = defaultdict(list), defaultdict(list)
    for rule_id, level_id in AssignmentRuleLevel.objects.filter(rule_id__in=ids).values_list("rule_id", "level_id"):
        levels[rule_id].append(level_id)
    for rule_id, tag_id in AssignmentRuleTag.objects.filter(rule_id__in=ids).values_list("rule_id", "tag_id"):
        tags[rule_id].append(tag_id)
    pairs = [(r, RuleSpec.of(r, level_ids=levels[r.pk], tag_ids=tags[r.pk])) for r in rules]
    return sorted(pairs, key=lambda pair: pair[1].sort_key)


def unmatched_pool(tenant: Tenant) -> Pool:
    """Where a new customer no rule places goes: the chosen pool, else the tenant's default pool."""

    chosen = (
        AssignmentSettings.objects.filter(tenant=tenant, unmatched_pool__isnull=False)
        .select_related("unmatched_pool")
        .first()
    )
    return chosen.unmatched_pool if chosen else default_pool(tenant)


def pick_next(candidates: list[User], *, least_loaded: bool, load: Mapping[int, int], last: int | None) -> User | None:
    """The engine's choice among the people who may take one more record (in id order): the least loaded (ties to
    the lowest id), or, taking turns, the first after `last` (wrapping round). The assignment rules and the service
    desk's dispatch rules both choose with it."""
    if not candidates:
        return None
    if least_loaded:
        return min(candidates, key=lambda u: (load.get(u.pk, 0), u.pk))
    after = [u for u in candidates if last is None or u.pk > last]
    return after[0] if after else candidates[0]


@dataclass
class Decision:
    """What the rules decided for one record: a rep (and the rule that chose them), or nobody — then for a customer
    the pool it goes to (the rule's overflow pool, or the pool for unmatched customers)."""

    kind: str
    owner: User | None
    rule: RuleSpec | None
    pool_id: int | None = None


class Assigner:
    """Decides owners for records one after another, keeping the state it decides on in memory (see the module
    docstring). `lock=True` only inside a transaction; `flush()` then writes the round-robin positions and the quota
    log. A dry run (`lock=False`) reads and never writes."""

    def __init__(self, *, tenant: Tenant, rules: Iterable[RuleSpec], now: dt.datetime | None = None, lock: bool):
        self.tenant = tenant
        self.rules = sorted(rules, key=lambda r: r.sort_key)
        self.now = now or timezone.now()
        self.day = local_today(tenant, self.now)
        self.lock = lock
        self.cap = tenant.max_customers_per_rep
        self.holdings: dict[int, int] = {}
        self.load: dict[int, int] = {}
        self.reps: dict[RuleSpec, list[User]] = {}
        self.cursor: dict[RuleSpec, int | None] = {}
        self.used: dict[RuleSpec, Counter] = defaultdict(Counter)
        self._moved: set[RuleSpec] = set()
        self._logs: list[AssignmentLog] = []
        self._prepared = False
        self._unmatched_pool_id: int | None = None

    # Loading (and, for real assignments, locking) the state.
    def prepare(self) -> None:
        if self._prepared:
            return
        if self.lock and not connection.in_atomic_block:
            raise TransactionManagementError("Assignment must run inside transaction.atomic().")
        self._prepared = True
        tenant = self.tenant
        saved = sorted({r.pk for r in self.rules if r.pk is not None})
        cursors = AssignmentCursor.objects.filter(tenant=tenant, rule_id__in=saved).order_by("rule_id")
        if self.lock and saved:
            AssignmentCursor.objects.bulk_create(
                [AssignmentCursor(tenant=tenant, rule_id=pk) for pk in saved], ignore_conflicts=True
            )
            cursors = cursors.select_for_update()
        by_rule = {c.rule_id: c.last_user_id for c in cursors}
        paths = dict(
            Team.objects.filter(tenant=tenant, pk__in={r.team_id for r in self.rules}).values_list("pk", "path")
        )
        team_condition = Q(pk__in=[])
        for rule in self.rules:
            path = paths.get(rule.team_id)
            if path is None:
                continue
            team_condition |= Q(team__path__startswith=path) if rule.include_subteams else Q(team_id=rule.team_id)
        reps_qs = (
            User.objects.filter(tenant=tenant, is_active=True)
            .with_role(Role.REP)
            .filter(team_condition)
            .select_related("team")
            .order_by("pk")
        )
        if self.lock:
            # The reps' rows, as a claim locks them: no claim can push a rep past the cap while we decide.
            reps_qs = reps_qs.select_for_update(of=("self",))
        reps = list(reps_qs)
        for rule in self.rules:
            path = paths.get(rule.team_id)
            self.reps[rule] = [
                u
                for u in reps
                if path is not None
                and (u.team_id == rule.team_id or (rule.include_subteams and u.team.path.startswith(path)))
            ]
            self.cursor[rule] = by_rule.get(rule.pk)
        user_ids = [u.pk for u in reps]
        self.holdings = {pk: 0 for pk in user_ids} | held_customers(tenant.pk, user_ids)
        self.load = loads_of(tenant.pk, user_ids)
        if saved:
            used = (
                AssignmentLog.objects.filter(tenant=tenant, rule_id__in=saved, day=self.day)
                .order_by()
                .values_list("rule_id", "user_id")
                .annotate(n=Count("pk"))
            )
            by_pk = {r.pk: r for r in self.rules if r.pk is not None}
            for rule_id, user_id, n in used:
                self.used[by_pk[rule_id]][user_id] = n

    def eligible(self, rule: RuleSpec, user: User) -> bool:
        if self.cap is not None and self.holdings.get(user.pk, 0) >= self.cap:
            return False
        return rule.daily_quota is None or self.used[rule][user.pk] < rule.daily_quota

    def pick(self, rule: RuleSpec) -> User | None:
        """The rep the rule gives its next record to, or None when none of its team can take more."""
        self.prepare()
        candidates = [u for u in self.reps.get(rule, []) if self.eligible(rule, u)]
        return pick_next(
            candidates,
            least_loaded=rule.method == AssignmentRule.Method.LEAST_LOADED,
            load=self.load,
            last=self.cursor.get(rule),
        )

    def take(self, rule: RuleSpec, user: User, kind: str) -> None:
        self.cursor[rule] = user.pk
        self._moved.add(rule)
        self.used[rule][user.pk] += 1
        self.load[user.pk] = self.load.get(user.pk, 0) + 1
        if kind == CUSTOMER:
            self.holdings[user.pk] = self.holdings.get(user.pk, 0) + 1

    def release(self, decision: Decision) -> None:
        """Undo the counts of a decision whose record was not created after all (the round-robin turn stays)."""
        if decision.owner is None or decision.rule is None:
            return
        pk = decision.owner.pk
        self.used[decision.rule][pk] -= 1
        self.load[pk] -= 1
        if decision.kind == CUSTOMER:
            self.holdings[pk] -= 1

    def unmatched_pool_id(self) -> int:
        if self._unmatched_pool_id is None:
            self._unmatched_pool_id = unmatched_pool(self.tenant).pk
        return self._unmatched_pool_id

    def choose(self, kind: str, attrs: dict) -> Decision:
        """The first rule (in order) that matches and has a rep who can take it decides. A matching rule whose team
        is full sends a customer to its overflow pool if it has one, else lets the next rule try."""
        if kind not in RECORD_KINDS:
            raise ValueError(kind)
        for rule in self.rules:
            if not (rule.applies(kind) and rule.matches(attrs)):
                continue
            user = self.pick(rule)
            if user is not None:
                self.take(rule, user, kind)
                return Decision(kind, user, rule)
            if rule.overflow_pool_id is not None:
                return Decision(kind, None, rule, rule.overflow_pool_id if kind == CUSTOMER else None)
        return Decision(kind, None, None, self.unmatched_pool_id() if kind == CUSTOMER else None)

    def log(self, decision: Decision, record_id: int | None = None) -> None:
        if decision.owner is not None and decision.rule is not None and decision.rule.pk is not None:
            self._logs.append(
                AssignmentLog(
                    tenant=self.tenant,
                    rule_id=decision.rule.pk,
                    user=decision.owner,
                    record_kind=decision.kind,
                    record_id=record_id,
                    day=self.day,
                    at=self.now,
                )
            )

    def flush(self) -> None:
        """Write the round-robin positions and the quota log (real assignments only, in their transaction)."""
        if not self.lock:
            raise TransactionManagementError("A dry run writes nothing.")
        for rule in self._moved:
            if rule.pk is not None:
                AssignmentCursor.objects.filter(tenant=self.tenant, rule_id=rule.pk).update(
                    last_user_id=self.cursor[rule], updated_at=self.now
                )
        self._moved.clear()
        AssignmentLog.objects.bulk_create(self._logs)
        self._logs = []


def choose_owner(
    *, tenant: Tenant, record_kind: str, attrs: dict, now: dt.datetime | None = None, record_id: int | None = None
) -> tuple[User | None, AssignmentRule | None]:
    """Who gets a new record by the tenant's enabled rules: (rep, rule), or (None, rule) when the matching rule's
    team is full and the rule names an overflow pool (customers go there; leads stay unassigned), or (None, None)
    when no rule places it (customers go to `unmatched_pool(tenant)`; leads stay unassigned).

    Call it inside the transaction that creates or updates the record: it locks the matching rules' round-robin rows
    and their reps until that transaction ends, so simultaneous arrivals take turns fairly, and it counts the
    assignment against the rule's daily quota. `attrs`: source, region, industry, level, tags."""
    if record_kind not in RECORD_KINDS:
        raise ValueError(record_kind)
    if not connection.in_atomic_block:
        raise TransactionManagementError("choose_owner must run inside transaction.atomic().")
    pairs = [(r, s) for r, s in rules_of(tenant) if s.applies(record_kind) and s.matches(attrs)]
    if not pairs:
        return None, None
    assigner = Assigner(tenant=tenant, rules=[s for _r, s in pairs], now=now, lock=True)
    decision = assigner.choose(record_kind, attrs)
    assigner.log(decision, record_id)
    assigner.flush()
    rule = next((r for r, s in pairs if s == decision.rule), None)
    return decision.owner, rule


def customer_attrs(values: dict, tags: Iterable[Any] = ()) -> dict:
    """A customer's attributes as the rules read them."""
    return {
        "source": values.get("source", ""),
        "region": values.get("region", ""),
        "industry": values.get("industry", ""),
        "level": _pk(values.get("level")),
        "tags": [_pk(t) for t in tags],
    }


def notify_new_owners(assigned: dict[int, list[tuple[str, str, str]]], *, key: str = "") -> None:
    """One digest per new owner: {user_id: [(kind, name, rule name)]}."""
    for user in User.objects.filter(pk__in=list(assigned), is_active=True):
        items = assigned[user.pk]
        n = len(items)
        if all(kind == CUSTOMER for kind, _name, _rule in items):
            title = ngettext_lazy(
                "%(count)d customer was assigned to you by the assignment rules",
                "%(count)d customers were assigned to you by the assignment rules",
                n,
            )
        else:
            title = ngettext_lazy(
                "%(count)d record was assigned to you by the assignment rules",
                "%(count)d records were assigned to you by the assignment rules",
                n,
            )
        lines = [f"{name} — {rule}" for _kind, name, rule in items[:50]]
        if n > 50:
            lines.append(f"… +{n - 50}")
        notify(
            recipient=user,
            title=lazy_format(title, count=n),
            body="\n".join(lines),
            url=reverse("customers:list") + f"?owner={user.pk}",
            key=f"{key}:{user.pk}" if key else "",
        )


def assigned_today(tenant: Tenant, now: dt.datetime | None = None) -> dict[int, int]:
    """Records each rule gave out today (tenant-local): shown beside the rules."""
    day = local_today(tenant, now)
    rows = (
        AssignmentLog.objects.filter(tenant=tenant, day=day, rule__isnull=False)
        .order_by()
        .values_list("rule_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)
