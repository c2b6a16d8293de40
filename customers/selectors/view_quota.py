"""Daily quotas on opening pool customers: which apply to a user, how many openings are left today. The pool's own
`daily_view_limit` counts the openings in that pool; a role or team quota (ViewQuota) counts those in every pool.
The tightest that applies wins; `customers.services.pool.record_pool_view` enforces them, under the user's lock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from crm.models import Team, User
from crm.workcalendar.selectors import local_today
from customers.models import Pool, PoolView, ViewQuota


def quotas_for(user: User) -> list[ViewQuota]:
    """The role and team quotas that apply to `user` (a team's quota covers its sub-teams: the quota's team path is
    a prefix of the user's team path), tightest first. One query."""
    condition = Q(role__in=list(user.roles or []), team__isnull=True)
    if user.team_id:
        condition |= Q(
            Exists(
                Team.objects.filter(pk=user.team_id, tenant_id=user.tenant_id, path__startswith=OuterRef("team__path"))
            )
        )
    return list(
        ViewQuota.objects.filter(tenant_id=user.tenant_id)
        .filter(condition)
        .select_related("team")
        .order_by("daily_limit", "pk")
    )


@dataclass(frozen=True)
class Left:
    """One limit: `quota` (a ViewQuota) or `pool` (a pool's own), its number and today's openings counted by it."""

    limit: int
    used: int
    quota: ViewQuota | None = None
    pool: Pool | None = None

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class ViewsLeft:
    person: Left | None  # the tightest role or team quota (None: none applies)
    pools: list[Left]  # the pools with their own limit

    def left_in(self, pool: Pool) -> int | None:
        """Openings left today in `pool`: the tighter of its own limit and the person's quota (None: unlimited)."""
        candidates = [x.left for x in self.pools if x.pool.pk == pool.pk]
        if self.person is not None:
            candidates.append(self.person.left)
        return min(candidates) if candidates else None

    @property
    def any(self) -> bool:
        return self.person is not None or bool(self.pools)


def views_left(user: User, pools: list[Pool], now: dt.datetime | None = None) -> ViewsLeft:
    """Today's openings left for `user`: under their tightest quota and in each of these pools with a limit. Two
    queries (the quotas, and today's openings per pool)."""
    quotas = quotas_for(user)
    limited = [p for p in pools if p.daily_view_limit is not None]
    if not quotas and not limited:
        return ViewsLeft(person=None, pools=[])
    day = local_today(user.tenant, now)
    used = dict(
        PoolView.objects.filter(tenant_id=user.tenant_id, user=user, day=day)
        .order_by()
        .values_list("pool_id")
        .annotate(n=Count("pk"))
    )
    person = Left(limit=quotas[0].daily_limit, used=sum(used.values()), quota=quotas[0]) if quotas else None
    return ViewsLeft(
        person=person, pools=[Left(limit=p.daily_view_limit, used=used.get(p.pk, 0), pool=p) for p in limited]
    )
