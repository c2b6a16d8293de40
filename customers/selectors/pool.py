"""Which owned customers are due to fall back: the one predicate the job, the warnings, the simulation and the
at-risk page share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
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
from crm.selectors.pool_limits import ClaimsLeft
from crm.workcalendar.selectors import local_midnight, local_today
from customers.models import Customer, ExtensionRequest, OwnershipEvent, Pool, PoolLevelRule

ONE_DAY = dt.timedelta(days=1)

# The pool fields the fall-back rules read.
RULE_FIELDS = ("no_followup_days", "no_deal_days", "no_contract_days", "exempt_key_accounts", "exempt_recent_deal_days")


@dataclass(frozen=True)
class Rules:
    """A pool's fallback thresholds, per level where set: days without follow-up, without a deal, and after the last
    signed contract ended."""

    followup_default: int | None
    deal_default: int | None
    followup_by_level: dict[int, int | None]
    deal_by_level: dict[int, int | None]
    contract_default: int | None = None
    contract_by_level: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def of(cls, pool: Pool, overrides: dict | None = None) -> Rules:
        """The pool's rules; `overrides` (the simulation) replaces fields and level rules without saving. A level
        rule is (follow-up days, deal days[, contract days])."""
        overrides = overrides or {}
        followup = overrides.get("no_followup_days", pool.no_followup_days)
        deal = overrides.get("no_deal_days", pool.no_deal_days)
        contract = overrides.get("no_contract_days", pool.no_contract_days)
        level_rules = overrides.get("level_rules")
        if level_rules is None:
            level_rules = {
                r.level_id: (r.no_followup_days, r.no_deal_days, r.no_contract_days)
                for r in PoolLevelRule.objects.filter(pool=pool)
            }
        level_rules = {lvl: (*rule, None, None)[:3] for lvl, rule in level_rules.items()}
        return cls(
            followup_default=followup,
            deal_default=deal,
            followup_by_level={lvl: f for lvl, (f, d, c) in level_rules.items() if f},
            deal_by_level={lvl: d for lvl, (f, d, c) in level_rules.items() if d},
            contract_default=contract,
            contract_by_level={lvl: c for lvl, (f, d, c) in level_rules.items() if c},
        )

    @property
    def any(self) -> bool:
        return bool(
            self.followup_default
            or self.deal_default
            or self.contract_default
            or self.followup_by_level
            or self.deal_by_level
            or self.contract_by_level
        )


def _clock_condition(clock_field: str, by_level: dict[int, int], default: int | None, boundary) -> Q:
    """Rows whose clock ran for at least the level's (or the default) number of local days."""
    extension = ExpressionWrapper(F("extension_days") * Value(ONE_DAY), output_field=DurationField())
    condition = Q(pk__in=[])
    for level_id, days in by_level.items():
        condition |= Q(level_id=level_id, **{f"{clock_field}__lt": boundary(days) - extension})
    if default:
        condition |= ~Q(level_id__in=list(by_level)) & Q(**{f"{clock_field}__lt": boundary(default) - extension})
        if by_level:
            condition |= Q(level_id__isnull=True, **{f"{clock_field}__lt": boundary(default) - extension})
    return condition


def _contract_condition(by_level: dict[int, int], default: int | None, today: dt.date, boundary) -> Q:
    """Rows whose last signed contract ended at least the level's (or the default) number of local days ago, and
    that their owner has held as long: a rep who claims a customer whose contract ended long ago gets the days."""
    extension = ExpressionWrapper(F("extension_days") * Value(ONE_DAY), output_field=DurationField())

    def ended(days: int) -> Q:
        return Q(contract_clock__lte=today - dt.timedelta(days=days), owned_since__lt=boundary(days) - extension)

    condition = Q(pk__in=[])
    for level_id, days in by_level.items():
        condition |= Q(level_id=level_id) & ended(days)
    if default:
        condition |= ~Q(level_id__in=list(by_level)) & ended(default)
        if by_level:
            condition |= Q(level_id__isnull=True) & ended(default)
    return condition


def _contract_rule_applies(by_level: dict[int, int], default: int | None) -> Q | None:
    """Rows of the levels a contract rule covers: all with a default (None), those levels without one."""
    return None if default else Q(level_id__in=list(by_level))


def pools_with_rules(tenant: Tenant) -> QuerySet[Pool]:
    """The pools whose customers can fall back: a default rule, or a rule for at least one level."""
    return Pool.objects.filter(tenant=tenant).filter(
        Q(no_followup_days__isnull=False)
        | Q(no_deal_days__isnull=False)
        | Q(no_contract_days__isnull=False)
        | Q(Exists(PoolLevelRule.objects.filter(pool=OuterRef("pk"))))
    )


def fallback_due(
    pool: Pool, *, now: dt.datetime | None = None, days_ahead: int = 0, overrides: dict | None = None
) -> QuerySet[Customer]:
    """THE predicate: owned customers of `pool` due to fall back by the end of local day today + `days_ahead`.

    The follow-up clock runs from the latest of owned_since and last_followed_up_at; the deal clock from the
    latest of owned_since and last_deal_at; an approved extension adds its days to both. Contracts (the customer's
    `contract_cover_until`): a customer covered by a signed contract on that day never falls back; one whose last
    signed contract ended is governed, where the pool has a contract rule for its level, by "N days after the end
    (and N days held) without a new signed contract" instead of the follow-up and deal clocks; customers that never
    signed keep those clocks. Days are the tenant's local days. The job (days_ahead=0), the warnings
    (days_ahead=N) and the simulation all call this."""
    tenant = pool.tenant
    now = now or timezone.now()
    rules = Rules.of(pool, overrides)
    exempt_key = (
        overrides.get("exempt_key_accounts", pool.exempt_key_accounts) if overrides else pool.exempt_key_accounts
    )
    exempt_deal_days = (
        overrides.get("exempt_recent_deal_days", pool.exempt_recent_deal_days)
        if overrides
        else pool.exempt_recent_deal_days
    )
    today = local_today(tenant, now) + dt.timedelta(days=days_ahead)

    def boundary(days: int) -> dt.datetime:
        # A clock started before local midnight of (today - days + 1) has run `days` full local days by today.
        return local_midnight(tenant, today - dt.timedelta(days=days - 1))

    qs = Customer.objects.filter(tenant=tenant, pool=pool, owner__isnull=False, deleted_at__isnull=True).annotate(
        followup_clock=Greatest("owned_since", Coalesce("last_followed_up_at", "owned_since")),
        deal_clock=Greatest("owned_since", Coalesce("last_deal_at", "owned_since")),
    )
    condition = _clock_condition("followup_clock", rules.followup_by_level, rules.followup_default, boundary) | (
        _clock_condition("deal_clock", rules.deal_by_level, rules.deal_default, boundary)
    )
    # Never while a signed contract covers the day.
    not_covered = Q(contract_cover_until__isnull=True) | Q(contract_cover_until__lt=today)
    if rules.contract_default or rules.contract_by_level:
        # The contract clock: the last covered day, moved on by an approved extension.
        qs = qs.annotate(
            contract_clock=ExpressionWrapper(F("contract_cover_until") + F("extension_days"), output_field=DateField())
        )
        applies = _contract_rule_applies(rules.contract_by_level, rules.contract_default)
        signed = Q(contract_cover_until__isnull=False)
        governed = signed if applies is None else signed & applies
        ungoverned = Q(contract_cover_until__isnull=True) if applies is None else ~governed
        condition = (
            governed & _contract_condition(rules.contract_by_level, rules.contract_default, today, boundary)
        ) | (ungoverned & condition)
    qs = qs.filter(not_covered & condition)
    if exempt_key:
        qs = qs.exclude(is_key_account=True)
    if exempt_deal_days:
        qs = qs.exclude(last_deal_at__gte=now - dt.timedelta(days=exempt_deal_days))
    return qs


def _days_case(pools: list[Pool], rules: dict[int, Rules], clock: str) -> Case:
    """The rule's days for each row's pool and level on one clock ("followup" or "deal"), as `_clock_condition`
    chooses them: the level's own rule, else the pool's default (NULL: no rule on this clock)."""
    whens = []
    for pool in pools:
        by_level = getattr(rules[pool.pk], f"{clock}_by_level")
        default = getattr(rules[pool.pk], f"{clock}_default")
        whens += [When(pool_id=pool.pk, level_id=level_id, then=Value(days)) for level_id, days in by_level.items()]
        if default:
            whens.append(When(pool_id=pool.pk, then=Value(default)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


class LocalMidnight(Func):
    """The instant a local day (a date expression) begins in a time zone, in SQL: what `local_midnight` gives."""

    arg_joiner = ")::timestamp AT TIME ZONE ("
    template = "((%(expressions)s))"
    output_field = DateTimeField()

    def __init__(self, day, tz: str):
        super().__init__(day, Value(tz))


# A contract cover this far ahead is open-ended: its fall-back is never (and a date past 9999 is no Python date).
FAR_FUTURE = dt.date(9000, 1, 1)


COMPUTED = "computed_fallback_at"


def with_fallback_at(queryset: QuerySet[Customer], tenant: Tenant) -> QuerySet[Customer]:
    """Annotate `computed_fallback_at`: the moment from which `fallback_due` counts an owned customer as due, so the
    local day of it is the day the job returns it to its pool (NULL: never, as things stand — in a pool, no rule, an
    exempt key account, or an open-ended contract). A recent deal that exempts it postpones it to the exemption's
    end. The stored `Customer.fallback_at` is this value, written by customers.services.fallback_date.

    The same arithmetic as THE predicate: a clock that started at C with an extension of E days and a rule of N
    days is due on the local day of C + E + N days; a customer whose last signed contract covers up to day U is due
    on the day U + E + N (not before N days held) where a contract rule governs its level, and otherwise not before
    the day after U. One query for the tenant's pools and their level rules; the annotation is plain SQL, so the
    customer list sorts by it."""
    # The pools with their level rules, in one query.
    pools = list(
        Pool.objects.filter(tenant=tenant)
        .only("pk", "tenant_id", *RULE_FIELDS)
        .annotate(
            level_rule_rows=ArrayAgg(
                JSONObject(
                    level="level_rules__level_id",
                    f="level_rules__no_followup_days",
                    d="level_rules__no_deal_days",
                    c="level_rules__no_contract_days",
                ),
                filter=Q(level_rules__isnull=False),
                default=Value([]),
            )
        )
        .order_by("pk")
    )
    rules = {
        p.pk: Rules.of(p, {"level_rules": {r["level"]: (r["f"], r["d"], r["c"]) for r in p.level_rule_rows}})
        for p in pools
    }

    def due(clock_field: str, clock: str):
        days = ExpressionWrapper(
            (F("extension_days") + _days_case(pools, rules, clock)) * Value(ONE_DAY), output_field=DurationField()
        )
        return ExpressionWrapper(F(clock_field) + days, output_field=DateTimeField())

    exempt_key = [p.pk for p in pools if p.exempt_key_accounts]
    exemption_end = Value(None, output_field=DateTimeField())
    deal_exemptions = [
        When(pool_id=p.pk, then=F("last_deal_at") + Value(dt.timedelta(days=p.exempt_recent_deal_days)))
        for p in pools
        if p.exempt_recent_deal_days
    ]
    if deal_exemptions:
        exemption_end = Case(*deal_exemptions, default=Value(None), output_field=DateTimeField())
    # After the cover ends, the follow-up and deal clocks count again (from the day after the last covered day).
    after_cover = LocalMidnight(
        ExpressionWrapper(F("contract_cover_until") + Value(1), output_field=DateField()), tenant.timezone
    )
    queryset = queryset.annotate(
        _fb_followup_clock=Greatest("owned_since", Coalesce("last_followed_up_at", "owned_since")),
        _fb_deal_clock=Greatest("owned_since", Coalesce("last_deal_at", "owned_since")),
    ).annotate(_fb_clock_due=Least(due("_fb_followup_clock", "followup"), due("_fb_deal_clock", "deal")))
    whens = [
        When(Q(owner__isnull=True) | Q(deleted_at__isnull=False), then=Value(None)),
        When(is_key_account=True, pool_id__in=exempt_key, then=Value(None)),
        When(contract_cover_until__gte=FAR_FUTURE, then=Value(None)),
    ]
    if any(r.contract_default or r.contract_by_level for r in rules.values()):
        queryset = queryset.annotate(_fb_contract_days=_days_case(pools, rules, "contract"))
        contract_due = Greatest(
            due("owned_since", "contract"),
            LocalMidnight(
                ExpressionWrapper(
                    F("contract_cover_until") + F("extension_days") + F("_fb_contract_days"), output_field=DateField()
                ),
                tenant.timezone,
            ),
        )
        whens.append(
            When(
                contract_cover_until__isnull=False,
                _fb_contract_days__isnull=False,
                then=Greatest(contract_due, exemption_end),
            )
        )
    whens += [
        When(_fb_clock_due__isnull=True, then=Value(None)),
        When(contract_cover_until__isnull=False, then=Greatest("_fb_clock_due", after_cover, exemption_end)),
    ]
    return queryset.annotate(
        **{COMPUTED: Case(*whens, default=Greatest("_fb_clock_due", exemption_end), output_field=DateTimeField())}
    )


def computed_day(customer: Customer) -> dt.date | None:
    """The tenant-local day of an annotated customer's `computed_fallback_at` (`with_fallback_at`), or None."""
    at = getattr(customer, COMPUTED)
    return timezone.localtime(at, customer.tenant.tzinfo).date() if at else None


def fallback_day(customer: Customer) -> dt.date | None:
    """The tenant-local day a customer falls back on (its stored `fallback_at`), or None."""
    at = customer.fallback_at if customer.owner_id is not None else None
    return timezone.localtime(at, customer.tenant.tzinfo).date() if at else None


def mark_extension_state(customers: list[Customer]) -> None:
    """Set `extension_pending` (a request waits for a decision) and `extension_asked` (one was asked while the
    current owner holds it; only one may be) on each customer, for the request-extension button. One query."""
    asked: dict[tuple[int, dt.datetime], bool] = {}
    rows = ExtensionRequest.objects.filter(customer__in=[c.pk for c in customers]).values_list(
        "customer_id", "owned_since", "status"
    )
    pending = set()
    for customer_id, owned_since, status in rows:
        asked[(customer_id, owned_since)] = True
        if status == ExtensionRequest.Status.PENDING:
            pending.add(customer_id)
    for c in customers:
        c.extension_pending = c.pk in pending
        c.extension_asked = (c.pk, c.owned_since) in asked


def claims_today(rep: User, pool_ids: list[int], now: dt.datetime | None = None) -> dict[int, int]:
    """How many customers `rep` claimed from each of these pools today (crm.selectors.pool_limits). One query."""
    return pool_limits.claims_today(OwnershipEvent.objects, rep, pool_ids, now)


def claims_left(rep: User, pools: list[Pool]) -> list[ClaimsLeft]:
    """Today's claims left in each pool that limits them ("3 of 10 left today"), for the pool page."""
    return pool_limits.claims_left(OwnershipEvent.objects, rep, pools)
