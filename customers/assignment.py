"""Assignment rules (issue 7): ordered rules that give new customers (and, once sales hooks in, new leads) to a
rep of a team, by round-robin or to the least-loaded rep; the dry run of a rule over the current backlog; and
applying a rule to that backlog.

One engine, `Assigner`, decides for every path — a new customer, an import, the dry run and the backlog apply — so
what the dry run shows is what applying does. It keeps the state it decides on in memory (each rep's holdings and
load, each rule's round-robin position and today's quota use), loaded once:
- for real assignments (`lock=True`) inside the caller's transaction, after locking the rules' cursor rows and then
  the reps' rows, always in primary-key order (so two assigners never deadlock). Concurrent arrivals therefore take
  turns: the second waits for the first to commit and then sees the rep the first chose.
- for a dry run (`lock=False`) with plain reads: it locks nothing and writes nothing.

Hooks for later apps (sales registers them from its AppConfig.ready(); customers never imports sales):
- `register_load_counter(key, fn)`: `fn(tenant_id, user_ids) -> {user_id: open items}`; a rep's load is the sum of
  every counter (customers held, plus open leads once sales registers them).
- `register_backlog_source(BacklogSource(...))`: the unassigned records of a kind ("lead") for the dry run and the
  backlog apply.
- `choose_owner(tenant=..., record_kind="lead", attrs={...})` for each new record, inside the transaction that
  creates it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, OuterRef, Q, QuerySet
from django.db.transaction import TransactionManagementError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Role, Team, Tenant, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify

from .models import (
    AssignmentCursor,
    AssignmentLog,
    AssignmentRule,
    AssignmentRuleLevel,
    AssignmentRuleTag,
    AssignmentSettings,
    Customer,
    CustomerLevel,
    CustomerTag,
    OwnershipEvent,
    Pool,
    Tag,
)
from .normalize import nfkc
from .pool import local_today

CUSTOMER = "customer"
LEAD = "lead"
RECORD_KINDS = (CUSTOMER, LEAD)
# A dry run and a backlog apply look at this many matching records at most (the oldest first).
BACKLOG_LIMIT = 1000
MAX_VALUES = 30
MAX_VALUE_LENGTH = 50


def normalize_value(value: Any) -> str:
    """How rule values and record values compare: NFKC, trimmed, case-folded ("ＶＩＰ " = "vip")."""
    return nfkc(str(value or "")).casefold()


# --- the load registry -----------------------------------------------------------------------------------------

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


# --- the backlog registry ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacklogItem:
    """An unassigned record the dry run may hand out: its kind, id, display name, attributes and link."""

    kind: str
    pk: int
    name: str
    attrs: dict
    url: str = ""
    pool_id: int | None = None


@dataclass(frozen=True)
class BacklogSource:
    """The unassigned records of one kind.

    items(tenant, *, rule, pool_id, ids, limit) -> (items matching the rule's conditions, oldest first, at most
    `limit`; how many match in all). `ids`, when given, restricts to those records (the ones a dry run showed).
    apply(*, tenant, acting_user, rule, planned, now) -> the (item, rep) pairs actually given (a record taken
    meanwhile is skipped); runs inside the caller's transaction and writes the kind's own history.
    """

    kind: str
    label: Any
    items: Callable[..., tuple[list[BacklogItem], int]]
    apply: Callable[..., list[tuple[BacklogItem, User]]]


_backlog_sources: dict[str, BacklogSource] = {}


def register_backlog_source(source: BacklogSource) -> None:
    _backlog_sources[source.kind] = source


# --- rules as plain values ---------------------------------------------------------------------------------------


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
    from .services import default_pool

    chosen = (
        AssignmentSettings.objects.filter(tenant=tenant, unmatched_pool__isnull=False)
        .select_related("unmatched_pool")
        .first()
    )
    return chosen.unmatched_pool if chosen else default_pool(tenant)


# --- the engine --------------------------------------------------------------------------------------------------


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
        if not candidates:
            return None
        if rule.method == AssignmentRule.Method.LEAST_LOADED:
            return min(candidates, key=lambda u: (self.load.get(u.pk, 0), u.pk))
        last = self.cursor.get(rule)
        after = [u for u in candidates if last is None or u.pk > last]
        return after[0] if after else candidates[0]

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


# --- notifying the new owners --------------------------------------------------------------------------------------


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


# --- the customers' backlog ------------------------------------------------------------------------------------------


def _matching_values(qs: QuerySet, field_name: str, wanted: frozenset[str]) -> list[str]:
    """The stored spellings of `field_name` that compare equal to one of the rule's values (so the database filters
    with an indexed IN, exactly as the rule compares)."""
    stored = qs.order_by().values_list(field_name, flat=True).distinct()
    return [v for v in stored if normalize_value(v) in wanted]


def customers_matching(tenant: Tenant, rule: RuleSpec, *, pool_id: int | None = None, ids=None) -> QuerySet:
    """Unowned live customers (in their pools) the rule's conditions select, in SQL."""
    qs = Customer.objects.filter(tenant=tenant, owner__isnull=True, deleted_at__isnull=True)
    if pool_id:
        qs = qs.filter(pool_id=pool_id)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if rule.level_ids:
        qs = qs.filter(level_id__in=rule.level_ids)
    if rule.tag_ids:
        qs = qs.filter(pk__in=CustomerTag.objects.filter(tenant=tenant, tag_id__in=rule.tag_ids).values("customer_id"))
    for field_name, wanted in (("source", rule.sources), ("region", rule.regions), ("industry", rule.industries)):
        if wanted:
            qs = qs.filter(**{f"{field_name}__in": _matching_values(qs, field_name, wanted)})
    return qs


def customer_backlog_items(
    tenant: Tenant, *, rule: RuleSpec, pool_id: int | None = None, ids=None, limit: int = BACKLOG_LIMIT
) -> tuple[list[BacklogItem], int]:
    qs = customers_matching(tenant, rule, pool_id=pool_id, ids=ids)
    total = qs.count()
    rows = (
        qs.annotate(tag_ids=ArraySubquery(CustomerTag.objects.filter(customer=OuterRef("pk")).values("tag_id")))
        .order_by("created_at", "pk")
        .values("pk", "name", "source", "region", "industry", "level_id", "pool_id", "tag_ids")[:limit]
    )
    items = [
        BacklogItem(
            kind=CUSTOMER,
            pk=row["pk"],
            name=row["name"],
            attrs={
                "source": row["source"],
                "region": row["region"],
                "industry": row["industry"],
                "level": row["level_id"],
                "tags": row["tag_ids"] or [],
            },
            url=reverse("pool:customer", args=[row["pk"]]),
            pool_id=row["pool_id"],
        )
        for row in rows
    ]
    return [i for i in items if rule.matches(i.attrs)], total


def customer_backlog_apply(
    *, tenant: Tenant, acting_user: User, rule: AssignmentRule, planned: list[tuple[BacklogItem, User]], now
) -> list[tuple[BacklogItem, User]]:
    """Give the planned pool customers to their reps: per rep one conditional UPDATE (only customers still ownerless
    change hands, as in a claim), then their OwnershipEvents (reason assign, the rule's name as note) in bulk."""
    by_rep: dict[int, list[BacklogItem]] = defaultdict(list)
    reps: dict[int, User] = {}
    for item, rep in planned:
        by_rep[rep.pk].append(item)
        reps[rep.pk] = rep
    applied: list[tuple[BacklogItem, User]] = []
    for rep_id in sorted(by_rep):
        items = {i.pk: i for i in by_rep[rep_id]}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE customers_customer SET owner_id = %s, owned_since = %s, extension_days = 0, updated_at = %s
                WHERE tenant_id = %s AND id = ANY(%s) AND owner_id IS NULL AND deleted_at IS NULL
                RETURNING id
                """,
                [rep_id, now, now, tenant.pk, list(items)],
            )
            taken = sorted(row[0] for row in cursor.fetchall())
        applied += [(items[pk], reps[rep_id]) for pk in taken]
    OwnershipEvent.objects.bulk_create(
        [
            OwnershipEvent(
                tenant=tenant,
                customer_id=item.pk,
                from_pool_id=item.pool_id,
                to_owner=rep,
                reason=OwnershipEvent.Reason.ASSIGN,
                note=rule.name,
                actor=acting_user,
                at=now,
                created_by=acting_user,
            )
            for item, rep in applied
        ]
    )
    return applied


register_backlog_source(
    BacklogSource(
        kind=CUSTOMER, label=gettext_lazy("Customers"), items=customer_backlog_items, apply=customer_backlog_apply
    )
)


# --- the dry run and the backlog apply ---------------------------------------------------------------------------------


@dataclass
class PlanRow:
    item: BacklogItem
    owner: User | None = None
    earlier_rule: RuleSpec | None = None


@dataclass
class RepRow:
    """A rep of the rule's team: customers held and load (customers + open leads) now, records the run gives them
    (`gets`, of which `gets_customers` customers), the cap, the rule's quota and what it already gave them today."""

    user: User
    holds: int
    load: int
    gets: int = 0
    gets_customers: int = 0
    cap: int | None = None
    quota: int | None = None
    used_today: int = 0

    @property
    def holds_after(self) -> int:
        return self.holds + self.gets_customers

    @property
    def load_after(self) -> int:
        return self.load + self.gets

    @property
    def at_cap_after(self) -> bool:
        return self.cap is not None and self.holds_after >= self.cap


@dataclass
class BacklogPlan:
    rule: RuleSpec
    rows: list[PlanRow] = field(default_factory=list)
    total: int = 0
    reps: list[RepRow] = field(default_factory=list)
    pool_id: int | None = None

    @property
    def assigned(self) -> list[PlanRow]:
        return [r for r in self.rows if r.owner is not None]

    @property
    def unplaced(self) -> list[PlanRow]:
        return [r for r in self.rows if r.owner is None and r.earlier_rule is None]

    @property
    def left_to_earlier(self) -> list[PlanRow]:
        return [r for r in self.rows if r.earlier_rule is not None]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    def ids_of(self, kind: str) -> list[int]:
        return [r.item.pk for r in self.rows if r.item.kind == kind]


def earlier_rules(tenant: Tenant, rule: RuleSpec) -> list[RuleSpec]:
    """The enabled rules before `rule` in the order: a record they match is theirs, not this rule's."""
    return [s for _r, s in rules_of(tenant) if s.pk != rule.pk and s.sort_key < rule.sort_key]


def _plan(
    tenant: Tenant, rule: RuleSpec, assigner: Assigner, *, pool_id: int | None, ids: dict | None, limit: int
) -> BacklogPlan:
    plan = BacklogPlan(rule=rule, pool_id=pool_id)
    earlier = earlier_rules(tenant, rule)
    for kind, source in _backlog_sources.items():
        if not rule.applies(kind):
            continue
        items, total = source.items(
            tenant, rule=rule, pool_id=pool_id, ids=None if ids is None else ids.get(kind, []), limit=limit
        )
        plan.total += total
        for item in items:
            first = next((r for r in earlier if r.applies(item.kind) and r.matches(item.attrs)), None)
            if first is not None:
                plan.rows.append(PlanRow(item, earlier_rule=first))
                continue
            rep = assigner.pick(rule)
            if rep is not None:
                assigner.take(rule, rep, item.kind)
            plan.rows.append(PlanRow(item, owner=rep))
    gets = Counter(r.owner.pk for r in plan.rows if r.owner is not None)
    gets_customers = Counter(r.owner.pk for r in plan.rows if r.owner is not None and r.item.kind == CUSTOMER)
    assigner.prepare()
    # The assigner's counts include what this run gives: subtract it for "now".
    plan.reps = [
        RepRow(
            user=u,
            holds=assigner.holdings.get(u.pk, 0) - gets_customers[u.pk],
            load=assigner.load.get(u.pk, 0) - gets[u.pk],
            gets=gets[u.pk],
            gets_customers=gets_customers[u.pk],
            cap=assigner.cap,
            quota=rule.daily_quota,
            used_today=assigner.used[rule][u.pk] - gets[u.pk],
        )
        for u in assigner.reps.get(rule, [])
    ]
    return plan


def backlog_dry_run(
    *,
    tenant: Tenant,
    rule: RuleSpec,
    pool_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = BACKLOG_LIMIT,
) -> BacklogPlan:
    """What `rule` (saved or not, enabled or not) would do to the current backlog: which unassigned records it would
    give to whom, and what each rep of its team would hold afterwards. Reads only: it locks and writes nothing."""
    assigner = Assigner(tenant=tenant, rules=[rule], now=now, lock=False)
    return _plan(tenant, rule, assigner, pool_id=pool_id, ids=None, limit=limit)


def backlog_apply(
    *,
    acting_user: User,
    rule: AssignmentRule,
    ids: dict[str, list[int]],
    pool_id: int | None = None,
    now: dt.datetime | None = None,
) -> BacklogPlan:
    """Apply a saved rule to the records its dry run showed (`ids` per kind): the same engine decides again under
    the locks — so it gives what the dry run showed unless something changed meanwhile — then the records change
    hands, every new owner gets one digest, and one audit event records it all."""
    tenant = rule.tenant
    require_tenant_admin(acting_user, tenant)
    now = now or timezone.now()
    with transaction.atomic():
        rule = AssignmentRule.objects.select_for_update().filter(pk=rule.pk, tenant=tenant).first()
        if rule is None:
            raise DomainError(_("This rule no longer exists."))
        spec = RuleSpec.of(rule)
        assigner = Assigner(tenant=tenant, rules=[spec], now=now, lock=True)
        assigner.prepare()
        plan = _plan(tenant, spec, assigner, pool_id=pool_id, ids=ids, limit=BACKLOG_LIMIT)
        given: list[tuple[BacklogItem, User]] = []
        for kind, source in _backlog_sources.items():
            planned = [(r.item, r.owner) for r in plan.assigned if r.item.kind == kind]
            if planned:
                given += source.apply(tenant=tenant, acting_user=acting_user, rule=rule, planned=planned, now=now)
        done = {(item.kind, item.pk) for item, _rep in given}
        for row in plan.assigned:
            decision = Decision(row.item.kind, row.owner, spec)
            if (row.item.kind, row.item.pk) in done:
                assigner.log(decision, row.item.pk)
            else:
                assigner.release(decision)
                row.owner = None
        assigner.flush()
        audit(
            tenant=tenant,
            actor=acting_user,
            action="assignment.apply_backlog",
            obj=rule,
            details={
                "assigned": len(given),
                "per_rep": {str(k): v for k, v in Counter(rep.pk for _i, rep in given).items()},
                "pool": pool_id,
            },
        )
        per_rep: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for item, rep in given:
            per_rep[rep.pk].append((item.kind, item.name, rule.name))
        notify_new_owners(per_rep)
    return plan


# --- rules: create, change, enable, order, delete ---------------------------------------------------------------------


def _clean_values(values: Iterable[str], field_name: str) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = nfkc(value)
        if not text:
            continue
        if len(text) > MAX_VALUE_LENGTH:
            raise DomainError(
                _("“%(value)s” is longer than %(max)d characters.") % {"value": text, "max": MAX_VALUE_LENGTH},
                field=field_name,
            )
        if normalize_value(text) not in seen:
            seen.add(normalize_value(text))
            cleaned.append(text)
    if len(cleaned) > MAX_VALUES:
        raise DomainError(_("List at most %(max)d values.") % {"max": MAX_VALUES}, field=field_name)
    return cleaned


def _check_rule_refs(tenant: Tenant, *, team, levels, tags, overflow_pool) -> None:
    if team is None or team.tenant_id != tenant.pk:
        raise DomainError(_("Choose a team of your company."), field="team")
    if any(level.tenant_id != tenant.pk for level in levels):
        raise DomainError(_("Choose levels of your company."), field="levels")
    if any(tag.tenant_id != tenant.pk for tag in tags):
        raise DomainError(_("Choose tags of your company."), field="tags")
    if overflow_pool is not None and overflow_pool.tenant_id != tenant.pk:
        raise DomainError(_("Choose a pool of your company."), field="overflow_pool")


def rule_save(
    *,
    acting_user: User,
    tenant: Tenant,
    rule: AssignmentRule | None = None,
    name: str,
    applies_to: str,
    team: Team,
    method: str,
    include_subteams: bool = True,
    sources: Iterable[str] = (),
    regions: Iterable[str] = (),
    industries: Iterable[str] = (),
    levels: Iterable[CustomerLevel] = (),
    tags: Iterable[Tag] = (),
    daily_quota: int | None = None,
    overflow_pool: Pool | None = None,
) -> AssignmentRule:
    """Create a rule (disabled, last in the order: the admin enables it after reading its dry run) or change one."""
    require_tenant_admin(acting_user, tenant)
    if rule is not None and rule.tenant_id != tenant.pk:
        raise DomainError(_("This rule no longer exists."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the rule a name."), field="name")
    if applies_to not in AssignmentRule.AppliesTo.values:
        raise DomainError(_("Choose what the rule applies to."), field="applies_to")
    if method not in AssignmentRule.Method.values:
        raise DomainError(_("Choose how the rule picks a rep."), field="method")
    if daily_quota is not None and daily_quota < 1:
        raise DomainError(_("A daily quota is at least 1, or empty for none."), field="daily_quota")
    levels, tags = list(levels), list(tags)
    _check_rule_refs(tenant, team=team, levels=levels, tags=tags, overflow_pool=overflow_pool)
    values = {
        "name": name,
        "applies_to": applies_to,
        "team": team,
        "method": method,
        "include_subteams": include_subteams,
        "sources": _clean_values(sources, "sources"),
        "regions": _clean_values(regions, "regions"),
        "industries": _clean_values(industries, "industries"),
        "daily_quota": daily_quota,
        "overflow_pool": overflow_pool,
    }
    try:
        with transaction.atomic():
            if rule is None:
                last = AssignmentRule.objects.filter(tenant=tenant).aggregate(m=Max("order"))["m"]
                rule = AssignmentRule(tenant=tenant, created_by=acting_user, order=0 if last is None else last + 1)
                before = {}
                action = "assignment.rule.create"
            else:
                rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk, tenant=tenant)
                before = {k: _display(getattr(rule, k)) for k in values}
                before["levels"] = sorted(rule.levels.values_list("pk", flat=True))
                before["tags"] = sorted(rule.tags.values_list("pk", flat=True))
                action = "assignment.rule.update"
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
            AssignmentRuleLevel.objects.filter(rule=rule).exclude(level__in=levels).delete()
            AssignmentRuleLevel.objects.bulk_create(
                [AssignmentRuleLevel(tenant=tenant, rule=rule, level=level) for level in levels], ignore_conflicts=True
            )
            AssignmentRuleTag.objects.filter(rule=rule).exclude(tag__in=tags).delete()
            AssignmentRuleTag.objects.bulk_create(
                [AssignmentRuleTag(tenant=tenant, rule=rule, tag=tag) for tag in tags], ignore_conflicts=True
            )
            after = {k: _display(getattr(rule, k)) for k in values}
            after["levels"] = sorted(level.pk for level in levels)
            after["tags"] = sorted(tag.pk for tag in tags)
            changes = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
            if changes:
                audit(tenant=tenant, actor=acting_user, action=action, obj=rule, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("A rule with this name already exists."), field="name") from exc
    return rule


def _display(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def rule_set_active(*, acting_user: User, rule: AssignmentRule, active: bool) -> AssignmentRule:
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        updated = AssignmentRule.objects.filter(pk=rule.pk, tenant_id=rule.tenant_id).exclude(active=active)
        if updated.update(active=active, updated_at=timezone.now()):
            audit(
                tenant=rule.tenant,
                actor=acting_user,
                action="assignment.rule.enable" if active else "assignment.rule.disable",
                obj=rule,
            )
    rule.refresh_from_db()
    return rule


def rule_move(*, acting_user: User, rule: AssignmentRule, up: bool) -> AssignmentRule:
    """Swap the rule with its neighbour in the order (the order is renumbered 0, 1, 2… on the way)."""
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        rules = list(
            AssignmentRule.objects.filter(tenant_id=rule.tenant_id).select_for_update().order_by("order", "pk")
        )
        index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
        if index is None:
            raise DomainError(_("This rule no longer exists."))
        other = index - 1 if up else index + 1
        if 0 <= other < len(rules):
            rules[index], rules[other] = rules[other], rules[index]
            for position, r in enumerate(rules):
                if r.order != position:
                    AssignmentRule.objects.filter(pk=r.pk).update(order=position, updated_at=timezone.now())
            audit(
                tenant=rule.tenant,
                actor=acting_user,
                action="assignment.rule.move",
                obj=rule,
                details={"position": other + 1},
            )
    rule.refresh_from_db()
    return rule


def rule_delete(*, acting_user: User, rule: AssignmentRule) -> None:
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        audit(
            tenant=rule.tenant,
            actor=acting_user,
            action="assignment.rule.delete",
            obj=rule,
            details={"name": rule.name},
        )
        AssignmentRule.objects.filter(pk=rule.pk, tenant_id=rule.tenant_id).delete()


def settings_save(*, acting_user: User, tenant: Tenant, unmatched_pool: Pool | None) -> AssignmentSettings:
    require_tenant_admin(acting_user, tenant)
    if unmatched_pool is not None and unmatched_pool.tenant_id != tenant.pk:
        raise DomainError(_("Choose a pool of your company."), field="unmatched_pool")
    with transaction.atomic():
        settings_row, _created = AssignmentSettings.objects.select_for_update().get_or_create(tenant=tenant)
        if settings_row.unmatched_pool_id != (unmatched_pool.pk if unmatched_pool else None):
            audit(
                tenant=tenant,
                actor=acting_user,
                action="assignment.settings",
                details={
                    "unmatched_pool": [settings_row.unmatched_pool_id, unmatched_pool.pk if unmatched_pool else None]
                },
            )
            settings_row.unmatched_pool = unmatched_pool
            settings_row.save()
    return settings_row


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
