"""A rule applied to the records waiting for an owner (pool customers, and what later apps register, such as
unassigned leads): the dry run that shows what it would do, and the audited apply."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from customers.models import (
    AssignmentRule,
    Customer,
    CustomerTag,
    OwnershipEvent,
)
from customers.services.assignment import (
    CUSTOMER,
    Assigner,
    Decision,
    RuleSpec,
    normalize_value,
    notify_new_owners,
    rules_of,
)
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_check

# A dry run and a backlog apply look at this many matching records at most (the oldest first).
BACKLOG_LIMIT = 1000


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
    meanwhile is skipped); runs inside the caller's transaction and writes the kind's own history, stamped at
    `now`, or when `now` is None at the moment it holds the records' rows.
    """

    kind: str
    label: Any
    items: Callable[..., tuple[list[BacklogItem], int]]
    apply: Callable[..., list[tuple[BacklogItem, User]]]


_backlog_sources: dict[str, BacklogSource] = {}


def register_backlog_source(source: BacklogSource) -> None:
    _backlog_sources[source.kind] = source


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
    # The planned customers still in a pool are locked (in id order) before anything is stamped, so an
    # assignment is never dated before the release or fall-back that put its customer in the pool.
    list(
        Customer.objects.select_for_update()
        .filter(tenant=tenant, pk__in=[item.pk for item, _rep in planned], owner__isnull=True, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = now or timezone.now()
    applied: list[tuple[BacklogItem, User]] = []
    for rep_id in sorted(by_rep):
        items = {i.pk: i for i in by_rep[rep_id]}
        # The plan kept each rep within the cap; the one check says so again, with the rep's row locked.
        holdings_check(rep=reps[rep_id], adding=len(items), field="rule")
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE customers_customer SET owner_id = %s, owned_since = %s, extension_days = 0, pooled_at = NULL,
                    updated_at = %s
                WHERE tenant_id = %s AND id = ANY(%s) AND owner_id IS NULL AND deleted_at IS NULL
                RETURNING id
                """,
                [rep_id, now, now, tenant.pk, list(items)],
            )
            taken = sorted(row[0] for row in cursor.fetchall())
        applied += [(items[pk], reps[rep_id]) for pk in taken]
    fallback_at_refresh(tenant=tenant, ids=[item.pk for item, _rep in applied])
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
    with transaction.atomic():
        rule = AssignmentRule.objects.select_for_update().filter(pk=rule.pk, tenant=tenant).first()
        if rule is None:
            raise DomainError(_("This rule no longer exists."))
        spec = RuleSpec.of(rule)
        # The engine decides as of now; each source stamps its records once it holds their rows (or at `now`).
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
