"""Lead pools: which owned leads are due to fall back — the one predicate the job, the warnings and the simulation
share, and the same arithmetic as a date on the lead list and the rep's home — and what a rep may still claim."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, JSONObject, Least
from django.utils import timezone

from crm.models import Tenant, User
from crm.selectors import pool_limits
from crm.selectors.pool_limits import ClaimsLeft, warning_ladder
from crm.workcalendar.selectors import local_midnight, local_today
from sales.models import (
    Lead,
    LeadExtensionRequest,
    LeadFallbackWarning,
    LeadOwnershipEvent,
    LeadPool,
    LeadPoolRule,
    LeadStatus,
    LeadTag,
)

ONE_DAY = dt.timedelta(days=1)
OPEN_STATUSES = [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED]


@dataclass(frozen=True)
class LeadRules:
    """A lead pool's fall-back thresholds: defaults, per lead source, per product line and per lead tag where set.
    On each clock a lead's product line rule comes first, then its tags' rules (of several tags, the fewest days: a
    tag never buys more time), then its source's rule, then the pool's number."""

    followup_default: int | None
    conversion_default: int | None
    followup_by_source: dict[str, int]
    conversion_by_source: dict[str, int]
    followup_by_product: dict[int, int] = field(default_factory=dict)
    conversion_by_product: dict[int, int] = field(default_factory=dict)
    followup_by_tag: dict[int, int] = field(default_factory=dict)
    conversion_by_tag: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, pool: LeadPool, overrides: dict | None = None) -> LeadRules:
        """The pool's rules; `overrides` (the simulation) replaces fields, source, product line and tag rules without
        saving."""
        overrides = overrides or {}
        followup = overrides.get("no_followup_days", pool.no_followup_days)
        conversion = overrides.get("no_conversion_days", pool.no_conversion_days)
        source_rules = overrides.get("source_rules")
        product_rules = overrides.get("product_rules")
        tag_rules = overrides.get("tag_rules")
        if source_rules is None or product_rules is None or tag_rules is None:
            saved = list(LeadPoolRule.objects.filter(pool=pool))
            if source_rules is None:
                source_rules = {r.source: (r.no_followup_days, r.no_conversion_days) for r in saved if r.source}
            if product_rules is None:
                product_rules = {
                    r.product_id: (r.no_followup_days, r.no_conversion_days) for r in saved if r.product_id
                }
            if tag_rules is None:
                tag_rules = {r.tag_id: (r.no_followup_days, r.no_conversion_days) for r in saved if r.tag_id}
        return cls(
            followup_default=followup,
            conversion_default=conversion,
            followup_by_source={s: f for s, (f, c) in source_rules.items() if f},
            conversion_by_source={s: c for s, (f, c) in source_rules.items() if c},
            followup_by_product={p: f for p, (f, c) in product_rules.items() if f},
            conversion_by_product={p: c for p, (f, c) in product_rules.items() if c},
            followup_by_tag={t: f for t, (f, c) in tag_rules.items() if f},
            conversion_by_tag={t: c for t, (f, c) in tag_rules.items() if c},
        )

    @property
    def runs(self) -> bool:
        return any(
            (
                self.followup_default,
                self.conversion_default,
                self.followup_by_source,
                self.conversion_by_source,
                self.followup_by_product,
                self.conversion_by_product,
                self.followup_by_tag,
                self.conversion_by_tag,
            )
        )

    def on(self, clock: str) -> tuple[dict[int, int], dict[int, int], dict[str, int], int | None]:
        """One clock's ("followup" or "conversion") rules: by product line, by tag, by source, and the default."""
        return (
            getattr(self, f"{clock}_by_product"),
            getattr(self, f"{clock}_by_tag"),
            getattr(self, f"{clock}_by_source"),
            getattr(self, f"{clock}_default"),
        )


def _tagged(tag_ids) -> Exists:
    """The lead carries one of these tags (joined on the tenant too: the index leads with it, Citus co-locates by it)."""
    return Exists(
        LeadTag.objects.filter(tenant_id=OuterRef("tenant_id"), tag_id__in=list(tag_ids), lead_id=OuterRef("pk"))
    )


def _clock_condition(clock_field: str, rules: LeadRules, clock: str, boundary) -> Q:
    """Rows whose clock ran for at least the number of local days of their product line's rule, else of their
    tags' rules (a lead due under one of its tags' rules is due: the fewest days win), else their source's rule,
    else the pool's default."""
    by_product, by_tag, by_source, default = rules.on(clock)
    extension = ExpressionWrapper(F("extension_days") * Value(ONE_DAY), output_field=DurationField())
    condition = Q(pk__in=[])
    for product_id, days in by_product.items():
        condition |= Q(product_id=product_id, **{f"{clock_field}__lt": boundary(days) - extension})
    outside = ~Q(product_id__in=list(by_product)) if by_product else Q()
    for tag_id, days in by_tag.items():
        condition |= Q(_tagged([tag_id])) & outside & Q(**{f"{clock_field}__lt": boundary(days) - extension})
    if by_tag:
        outside &= ~Q(_tagged(by_tag))
    for source, days in by_source.items():
        condition |= Q(source=source) & outside & Q(**{f"{clock_field}__lt": boundary(days) - extension})
    if default:
        condition |= (
            ~Q(source__in=list(by_source)) & outside & Q(**{f"{clock_field}__lt": boundary(default) - extension})
        )
    return condition


def lead_pools_with_rules(tenant: Tenant) -> QuerySet[LeadPool]:
    """The lead pools whose leads can fall back: a default rule, or a rule for at least one source."""
    return LeadPool.objects.filter(tenant=tenant).filter(
        Q(no_followup_days__isnull=False)
        | Q(no_conversion_days__isnull=False)
        | Q(Exists(LeadPoolRule.objects.filter(pool=OuterRef("pk"))))
    )


def lead_fallback_due(
    pool: LeadPool, *, now: dt.datetime | None = None, days_ahead: int = 0, overrides: dict | None = None
) -> QuerySet[Lead]:
    """THE predicate: open owned leads of `pool` due to fall back by the end of local day today + `days_ahead`.

    The follow-up clock runs from the latest of owned_since and last_followed_up_at, the conversion clock from
    owned_since; an approved extension adds its days to both. Days are the tenant's local days. The job
    (days_ahead=0), the warnings (days_ahead=N) and the simulation (overrides) all call this."""
    tenant = pool.tenant
    now = now or timezone.now()
    rules = LeadRules.of(pool, overrides)
    today = local_today(tenant, now) + dt.timedelta(days=days_ahead)

    def boundary(days: int) -> dt.datetime:
        # A clock started before local midnight of (today - days + 1) has run `days` full local days by today.
        return local_midnight(tenant, today - dt.timedelta(days=days - 1))

    qs = Lead.objects.filter(
        tenant=tenant, pool=pool, owner__isnull=False, owned_since__isnull=False, status__in=OPEN_STATUSES
    ).annotate(followup_clock=Greatest("owned_since", Coalesce("last_followed_up_at", "owned_since")))
    condition = _clock_condition("followup_clock", rules, "followup", boundary) | _clock_condition(
        "owned_since", rules, "conversion", boundary
    )
    return qs.filter(condition)


def lead_warning_rows(
    pool: LeadPool, *, now: dt.datetime, overrides: dict | None = None, warn_days_before: int | None = None
) -> list[tuple[int, int, dt.datetime, str, str, int]]:
    """The warning ladder of one pool, step by step as the warning job takes it: the last day first, then the early
    step, each leaving out what is due sooner. Rows (lead, owner, owned_since, name, step, days ahead)."""
    warn = pool.warn_days_before if warn_days_before is None else warn_days_before
    rows = []
    taken = lead_fallback_due(pool, now=now, overrides=overrides)
    for step, days in warning_ladder(warn):
        step_qs = lead_fallback_due(pool, now=now, days_ahead=days, overrides=overrides)
        found = step_qs.exclude(pk__in=taken.values("pk")).values_list("pk", "owner_id", "owned_since", "name")
        rows += [(pk, owner, since, name, step, days) for pk, owner, since, name in found]
        taken = step_qs
    return rows


SIMULATION_LIMIT = 200


@dataclass
class LeadSimulation:
    """What the fall-back job and the warnings would do to a pool now, under rules not yet saved."""

    pool: LeadPool
    runs: bool
    due_count: int = 0
    due: list[Lead] = field(default_factory=list)
    due_ids: set[int] = field(default_factory=set)
    warned_count: int = 0
    new_warnings: set[tuple[int, str]] = field(default_factory=set)
    per_rep: list[tuple[User | None, int, int]] = field(default_factory=list)


def lead_pool_simulate(
    pool: LeadPool,
    *,
    overrides: dict | None = None,
    warn_days_before: int | None = None,
    now: dt.datetime | None = None,
    limit: int = SIMULATION_LIMIT,
) -> LeadSimulation:
    """What `lead_fallback_run` and `lead_warn_run` would do to `pool` at `now` under `overrides` (None: the saved
    rules): the same predicate and the same ladder; nothing is written."""
    now = now or timezone.now()
    sim = LeadSimulation(pool=pool, runs=LeadRules.of(pool, overrides).runs)
    if not sim.runs:
        return sim
    due_qs = lead_fallback_due(pool, now=now, overrides=overrides)
    due_rows = list(due_qs.values_list("pk", "owner_id"))
    sim.due_ids = {pk for pk, _owner in due_rows}
    sim.due_count = len(due_rows)
    sim.due = list(
        Lead.objects.filter(pk__in=due_qs.values("pk"))
        .select_related("owner")
        .order_by("owner__full_name", "pk")[:limit]
    )
    warned = lead_warning_rows(pool, now=now, overrides=overrides, warn_days_before=warn_days_before)
    sent = set(
        LeadFallbackWarning.objects.filter(tenant_id=pool.tenant_id, lead_id__in=[r[0] for r in warned]).values_list(
            "lead_id", "owned_since", "step"
        )
    )
    sim.warned_count = len(warned)
    sim.new_warnings = {(pk, step) for pk, _o, since, _n, step, _d in warned if (pk, since, step) not in sent}
    falls: dict[int, int] = {}
    warns: dict[int, int] = {}
    for _pk, owner in due_rows:
        falls[owner] = falls.get(owner, 0) + 1
    for _pk, owner, *_rest in warned:
        warns[owner] = warns.get(owner, 0) + 1
    users = {u.pk: u for u in User.objects.filter(pk__in=set(falls) | set(warns))}
    sim.per_rep = sorted(
        ((users.get(o), falls.get(o, 0), warns.get(o, 0)) for o in set(falls) | set(warns)),
        key=lambda r: (-r[1], -r[2], r[0].full_name if r[0] else ""),
    )
    return sim


def _days_case(pools: list[LeadPool], rules: dict[int, LeadRules], clock: str) -> Case:
    """The rule's days for each row's pool, product line, tags and source on one clock ("followup" or
    "conversion"), as `_clock_condition` chooses them (NULL: no rule on this clock). Tags are tried from the fewest
    days up, so a lead with several ruled tags gets the fewest."""
    whens = []
    for pool in pools:
        by_product, by_tag, by_source, default = rules[pool.pk].on(clock)
        whens += [When(pool_id=pool.pk, product_id=p, then=Value(days)) for p, days in by_product.items()]
        whens += [
            When(Q(pool_id=pool.pk) & Q(_tagged([t])), then=Value(days))
            for t, days in sorted(by_tag.items(), key=lambda item: (item[1], item[0]))
        ]
        whens += [When(pool_id=pool.pk, source=source, then=Value(days)) for source, days in by_source.items()]
        if default:
            whens.append(When(pool_id=pool.pk, then=Value(default)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


def with_lead_fallback_at(queryset: QuerySet[Lead], tenant: Tenant) -> QuerySet[Lead]:
    """Annotate `fallback_at`: the moment from which `lead_fallback_due` counts an owned lead as due, so its local
    day is the day the job returns the lead to its pool (NULL: never, as things stand). The predicate's arithmetic:
    a clock started at C with an extension of E days and a rule of N days is due on the local day of C + E + N.
    One query for the tenant's pools and their source rules; the annotation is plain SQL."""
    pools = list(
        LeadPool.objects.filter(tenant=tenant)
        .annotate(
            source_rule_rows=ArrayAgg(
                JSONObject(
                    source="source_rules__source",
                    product="source_rules__product_id",
                    tag="source_rules__tag_id",
                    f="source_rules__no_followup_days",
                    c="source_rules__no_conversion_days",
                ),
                filter=Q(source_rules__isnull=False),
                default=Value([]),
            )
        )
        .order_by("pk")
    )
    rules = {
        p.pk: LeadRules.of(
            p,
            {
                "source_rules": {r["source"]: (r["f"], r["c"]) for r in p.source_rule_rows if r["source"]},
                "product_rules": {r["product"]: (r["f"], r["c"]) for r in p.source_rule_rows if r["product"]},
                "tag_rules": {r["tag"]: (r["f"], r["c"]) for r in p.source_rule_rows if r["tag"]},
            },
        )
        for p in pools
    }

    def due(clock_field: str, clock: str):
        days = ExpressionWrapper(
            (F("extension_days") + _days_case(pools, rules, clock)) * Value(ONE_DAY), output_field=DurationField()
        )
        return ExpressionWrapper(F(clock_field) + days, output_field=DateTimeField())

    return queryset.annotate(
        _fb_followup_clock=Greatest("owned_since", Coalesce("last_followed_up_at", "owned_since")),
    ).annotate(
        fallback_at=Case(
            When(
                Q(owner__isnull=True) | Q(owned_since__isnull=True) | ~Q(status__in=OPEN_STATUSES),
                then=Value(None),
            ),
            default=Least(due("_fb_followup_clock", "followup"), due("owned_since", "conversion")),
            output_field=DateTimeField(),
        )
    )


def lead_fallback_day(lead: Lead) -> dt.date | None:
    """The tenant-local day an annotated lead (`with_lead_fallback_at`) falls back on, or None."""
    at = getattr(lead, "fallback_at", None)
    return timezone.localtime(at, lead.tenant.tzinfo).date() if at else None


def lead_claims_today(rep: User, pool_ids: list[int], now: dt.datetime | None = None) -> dict[int, int]:
    """How many leads `rep` claimed from each of these lead pools today. One query."""
    return pool_limits.claims_today(LeadOwnershipEvent.objects, rep, pool_ids, now)


def lead_claims_left(rep: User, pools: list[LeadPool]) -> list[ClaimsLeft]:
    """Today's claims left in each lead pool that limits them, for the pool pages."""
    return pool_limits.claims_left(LeadOwnershipEvent.objects, rep, pools)


def default_lead_pool(tenant: Tenant | int) -> LeadPool | None:
    """The tenant's default lead pool: where leads nobody owns go unless someone chooses another."""
    tenant_id = getattr(tenant, "pk", tenant)
    return LeadPool.objects.filter(tenant_id=tenant_id, is_default=True).first()


def pool_for_new_lead(tenant_id: int, pool: LeadPool | None = None) -> LeadPool | None:
    """The home pool of a new lead: the one chosen (of the tenant), else the tenant's default lead pool."""
    if pool is not None and pool.tenant_id == tenant_id:
        return pool
    return default_lead_pool(tenant_id)


def lead_fallback_context(lead: Lead, user: User) -> dict:
    """For the lead page: the local day the lead falls back on (None: never, as things stand) and whether its owner
    may still ask for more time in this ownership period. Three queries at most."""
    if lead.owner_id is None or lead.pool_id is None:
        return {"fallback_day": None, "may_ask_extension": False}
    annotated = with_lead_fallback_at(Lead.objects.filter(pk=lead.pk), lead.tenant).values_list(
        "fallback_at", flat=True
    )
    at = annotated.first()
    day = timezone.localtime(at, lead.tenant.tzinfo).date() if at else None
    may_ask = bool(
        day
        and lead.owner_id == user.pk
        and not LeadExtensionRequest.objects.filter(lead=lead, owned_since=lead.owned_since).exists()
    )
    return {"fallback_day": day, "may_ask_extension": may_ask}
