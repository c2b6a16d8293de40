"""What customer pools and lead pools share about a rep's claims: the daily claim counter (claims since the tenant's
local midnight, per pool), the claims left today, and the re-claim cooldown. Each works on an ownership-event
table with the same shape (`to_owner`, `from_owner`, `from_pool`, `reason`, `at`): customers.OwnershipEvent and
sales.LeadOwnershipEvent. Also the warning ladder's steps and who each step tells."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from crm.models import User
from crm.workcalendar.selectors import local_midnight, local_today

CLAIM = "claim"
LOST = ("release", "fallback")


def claims_today(events: QuerySet, rep: User, pool_ids: list[int], now: dt.datetime | None = None) -> dict[int, int]:
    """How many records `rep` claimed from each of these pools since the tenant's local midnight: what a pool's
    max_claims_per_day limits (the claim's check and the pool page's counter). One query."""
    if not pool_ids:
        return {}
    start = local_midnight(rep.tenant, local_today(rep.tenant, now))
    rows = (
        events.filter(tenant_id=rep.tenant_id, reason=CLAIM, to_owner=rep, from_pool_id__in=pool_ids, at__gte=start)
        .order_by()
        .values_list("from_pool_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


@dataclass(frozen=True)
class ClaimsLeft:
    pool: Any
    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


def claims_left(events: QuerySet, rep: User, pools: list) -> list[ClaimsLeft]:
    """Today's claims left in each pool that limits them ("3 of 10 left today"), for the pool pages."""
    limited = [p for p in pools if p.max_claims_per_day is not None]
    used = claims_today(events, rep, [p.pk for p in limited])
    return [ClaimsLeft(pool=p, limit=p.max_claims_per_day, used=used.get(p.pk, 0)) for p in limited]


def cooldown_until(record_events: QuerySet, rep: User, days: int, now: dt.datetime) -> dt.datetime | None:
    """Until when `rep` may not re-claim the record whose events these are, having released it or lost it by
    fall-back within `days` days (None: they may)."""
    if not days:
        return None
    lost = (
        record_events.filter(tenant_id=rep.tenant_id, from_owner=rep, reason__in=LOST)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if lost is None:
        return None
    until = lost + dt.timedelta(days=days)
    return until if until > now else None


def warning_ladder(warn_days_before: int | None) -> list[tuple[str, int]]:
    """The steps of the fall-back warning ladder as (step, days ahead), in the order the warning job takes them:
    the last day first, then the early warning `warn_days_before` days ahead (when more than one day)."""
    steps = [("last_day", 1)]
    if warn_days_before and warn_days_before > 1:
        steps.append(("early", warn_days_before))
    return steps


def warning_recipients(
    items: Iterable[tuple[int, int, str, str]], owners: dict[int, User], manager_for: Callable[[User], User | None]
) -> dict[int, list[tuple[int, str, str, str]]]:
    """Who a warning run tells what. `items` are the new warnings as (record id, owner id, name, step); each owner is
    told of theirs, and on the last day the owner's manager too (the nearest manager above them, not themselves),
    with the holder's name. Returns person id → [(record id, name, step, holder's name or "")]."""
    per_person: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    for pk, owner_id, name, step in items:
        per_person[owner_id].append((pk, name, step, ""))
        owner = owners.get(owner_id)
        if step == "last_day" and owner is not None:
            manager = manager_for(owner)
            if manager is not None and manager.pk != owner_id:
                per_person[manager.pk].append((pk, name, step, owner.full_name or owner.email))
    return dict(per_person)
