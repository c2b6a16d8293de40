"""Which owned customers are due to fall back: the one predicate the job, the warnings, the simulation and the
at-risk page share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from crm.models import Tenant
from crm.workcalendar.selectors import local_midnight, local_today
from customers.models import Customer, Pool, PoolLevelRule

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Rules:
    """A pool's fallback thresholds, per level where set."""

    followup_default: int | None
    deal_default: int | None
    followup_by_level: dict[int, int | None]
    deal_by_level: dict[int, int | None]

    @classmethod
    def of(cls, pool: Pool, overrides: dict | None = None) -> Rules:
        """The pool's rules; `overrides` (the simulation) replaces fields and level rules without saving."""
        overrides = overrides or {}
        followup = overrides.get("no_followup_days", pool.no_followup_days)
        deal = overrides.get("no_deal_days", pool.no_deal_days)
        level_rules = overrides.get("level_rules")
        if level_rules is None:
            level_rules = {
                r.level_id: (r.no_followup_days, r.no_deal_days) for r in PoolLevelRule.objects.filter(pool=pool)
            }
        return cls(
            followup_default=followup,
            deal_default=deal,
            followup_by_level={lvl: f for lvl, (f, d) in level_rules.items() if f},
            deal_by_level={lvl: d for lvl, (f, d) in level_rules.items() if d},
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


def pools_with_rules(tenant: Tenant) -> QuerySet[Pool]:
    """The pools whose customers can fall back: a default rule, or a rule for at least one level."""
    return Pool.objects.filter(tenant=tenant).filter(
        Q(no_followup_days__isnull=False)
        | Q(no_deal_days__isnull=False)
        | Q(Exists(PoolLevelRule.objects.filter(pool=OuterRef("pk"))))
    )


def fallback_due(
    pool: Pool, *, now: dt.datetime | None = None, days_ahead: int = 0, overrides: dict | None = None
) -> QuerySet[Customer]:
    """THE predicate: owned customers of `pool` due to fall back by the end of local day today + `days_ahead`.

    The follow-up clock runs from the latest of owned_since and last_followed_up_at; the deal clock from the
    latest of owned_since and last_deal_at; an approved extension adds its days to both. Days are the tenant's
    local days. The job (days_ahead=0), the warnings (days_ahead=N) and the simulation all call this."""
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
    qs = qs.filter(condition)
    if exempt_key:
        qs = qs.exclude(is_key_account=True)
    if exempt_deal_days:
        qs = qs.exclude(last_deal_at__gte=now - dt.timedelta(days=exempt_deal_days))
    return qs
