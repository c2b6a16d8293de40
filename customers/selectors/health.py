"""Pool health (managers and admins): customers waiting per pool, claims, fallbacks and claim-to-deal rate per rep,
reps hoarding near their cap; each figure's drill-down. Aggregates in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Role, Team, User
from crm.workcalendar.selectors import local_midnight
from customers.access import can_see_health
from customers.models import Customer, Holding, OwnershipEvent, Pool

DAY = dt.timedelta(days=1)


# Buckets of time spent waiting in a pool: key, from (days, inclusive), to (days, exclusive), label.
BUCKETS = (
    ("lt7", 0, 7, _("under a week")),
    ("7to30", 7, 30, _("1–4 weeks")),
    ("30to90", 30, 90, _("1–3 months")),
    ("gt90", 90, None, _("over 3 months")),
)


BUCKET_KEYS = [b[0] for b in BUCKETS]


# Hoarding: holdings at or above this share of the cap, with fewer than this share of them followed up recently.
HOARD_CAP_SHARE = 0.8


HOARD_RECENT_DAYS = 14


HOARD_RECENT_SHARE = 0.25


def people_in_scope(user) -> QuerySet[User]:
    """Whose figures `user` sees: an admin everyone of the tenant, a manager the members of their teams (recursively).
    Fails closed."""
    if not can_see_health(user):
        return User.objects.none()
    people = User.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.ADMIN):
        return people
    return people.filter(team__in=Team.objects.managed_by(user).values("pk"))


@dataclass(frozen=True)
class Period:
    """Tenant-local days `start`..`end` (both included) as the datetimes [start_at, end_at)."""

    start: dt.date
    end: dt.date
    start_at: dt.datetime
    end_at: dt.datetime

    @classmethod
    def of(cls, tenant, start: dt.date, end: dt.date) -> Period:
        return cls(start, end, local_midnight(tenant, start), local_midnight(tenant, end + DAY))


def _since_expression():
    """When a pool customer came to the pool: its stored `pooled_at` (set by every move into a pool, the moment of
    its latest ownership event there)."""
    return F("pooled_at")


def bucket_bounds(key: str, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[since_from, since_to): the customers that came to the pool in this window sit in bucket `key`."""
    for k, low, high, _label in BUCKETS:
        if k == key:
            return (now - high * DAY if high is not None else None), now - low * DAY
    raise KeyError(key)


@dataclass
class PoolRow:
    pool: Pool
    total: int = 0
    buckets: dict[str, int] = field(default_factory=dict)

    @property
    def bucket_list(self) -> list[tuple[str, int]]:
        return [(k, self.buckets.get(k, 0)) for k in BUCKET_KEYS]


def pools_waiting(user, now: dt.datetime) -> list[PoolRow]:
    """Per pool `user` sees: the customers waiting in it, and how many in each bucket of time spent waiting. Counted
    off cust_pooled_idx (tenant, pool, pooled_at: the waiting customers only), without reading the table."""
    pools = list(Pool.objects.visible_to(user).order_by("-is_default", "name"))
    rows = {p.pk: PoolRow(pool=p) for p in pools}
    if not pools:
        return []
    bounds = {k: bucket_bounds(k, now) for k in BUCKET_KEYS}
    filters, params = [], []
    for key in BUCKET_KEYS:
        low, high = bounds[key]
        condition = "since < %s" + (" AND since >= %s" if low is not None else "")
        filters.append(f'count(*) FILTER (WHERE {condition}) AS "{key}"')
        params += [high] + ([low] if low is not None else [])
    sql = f"""
        SELECT pool_id, count(*) AS total, {", ".join(filters)}
        FROM (
            SELECT c.pool_id, c.pooled_at AS since
            FROM customers_customer c
            WHERE c.tenant_id = %s AND c.owner_id IS NULL AND c.deleted_at IS NULL AND c.pool_id = ANY(%s)
        ) waiting
        GROUP BY pool_id
    """  # noqa: S608 - only our own column names are formatted in; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, user.tenant_id, list(rows)])
        for pool_id, total, *counts in cursor.fetchall():
            rows[pool_id].total = total
            rows[pool_id].buckets = dict(zip(BUCKET_KEYS, counts, strict=True))
    return list(rows.values())


@dataclass
class RepRow:
    user: User
    held: int = 0
    followed_recently: int = 0
    claims: int = 0
    claim_deals: int = 0
    fallbacks: int = 0
    cap: int | None = None

    @property
    def claim_to_deal(self) -> float | None:
        return round(100 * self.claim_deals / self.claims, 1) if self.claims else None

    @property
    def followed_share(self) -> float | None:
        return round(100 * self.followed_recently / self.held, 1) if self.held else None

    @property
    def cap_share(self) -> float | None:
        return round(100 * self.held / self.cap, 1) if self.cap else None

    @property
    def hoarding(self) -> bool:
        """Near the cap, following up few of what they hold."""
        return bool(
            self.cap
            and self.held >= HOARD_CAP_SHARE * self.cap
            and self.followed_recently < HOARD_RECENT_SHARE * self.held
        )


@dataclass
class Health:
    period: Period
    pools: list[PoolRow]
    reps: list[RepRow]
    cap: int | None

    @property
    def totals(self) -> RepRow:
        total = RepRow(user=None)
        for r in self.reps:
            total.held += r.held
            total.followed_recently += r.followed_recently
            total.claims += r.claims
            total.claim_deals += r.claim_deals
            total.fallbacks += r.fallbacks
        return total

    @property
    def hoarders(self) -> list[RepRow]:
        return [r for r in self.reps if r.hoarding]

    @property
    def near_cap(self) -> list[RepRow]:
        return [r for r in self.reps if r.cap and r.held >= HOARD_CAP_SHARE * r.cap]


def events_in(user, reason: str, period: Period) -> QuerySet[OwnershipEvent]:
    """The claims (to a rep in scope) or fallbacks (from a rep in scope) in the period."""
    person = "to_owner" if reason == OwnershipEvent.Reason.CLAIM else "from_owner"
    qs = OwnershipEvent.objects.filter(
        tenant_id=user.tenant_id, reason=reason, at__gte=period.start_at, at__lt=period.end_at
    )
    if not user.has_any_role(Role.ADMIN):
        qs = qs.filter(**{f"{person}__in": people_in_scope(user).values("pk")})
    return qs


def claims_with_deal(qs: QuerySet[OwnershipEvent]) -> QuerySet[OwnershipEvent]:
    """Claims whose customer's last deal came after the claim."""
    return qs.filter(customer__last_deal_at__gt=F("at"))


def pool_health(user, period: Period, now: dt.datetime | None = None) -> Health:
    now = now or timezone.now()
    tenant = user.tenant
    cap = tenant.max_customers_per_rep
    people = people_in_scope(user)
    reps: dict[int, RepRow] = {}

    def row(pk: int) -> RepRow:
        return reps.setdefault(pk, RepRow(user=None, cap=cap))

    # What each rep holds is the maintained count (customers.Holding); only the recently followed ones are counted,
    # per owner off the end of cust_owner_followup_idx.
    held = Holding.objects.filter(tenant_id=user.tenant_id, owner__in=people.values("pk")).exclude(held=0)
    for owner_id, n in held.values_list("owner_id", "held"):
        row(owner_id).held = n
    followed = (
        Customer.objects.filter(
            tenant_id=user.tenant_id,
            owner__in=people.values("pk"),
            owner__isnull=False,
            deleted_at__isnull=True,
            last_followed_up_at__gte=now - HOARD_RECENT_DAYS * DAY,
        )
        .order_by()
        .values_list("owner_id")
        .annotate(n=Count("*"))
    )
    for owner_id, n in followed:
        row(owner_id).followed_recently = n
    claims = (
        events_in(user, OwnershipEvent.Reason.CLAIM, period)
        .order_by()
        .values_list("to_owner_id")
        .annotate(n=Count("pk"), deals=Count("pk", filter=Q(customer__last_deal_at__gt=F("at"))))
    )
    for owner_id, n, deals in claims:
        row(owner_id).claims, row(owner_id).claim_deals = n, deals
    fallbacks = (
        events_in(user, OwnershipEvent.Reason.FALLBACK, period)
        .order_by()
        .values_list("from_owner_id")
        .annotate(n=Count("pk"))
    )
    for owner_id, n in fallbacks:
        row(owner_id).fallbacks = n
    # Every active rep in scope has a row, with or without figures; others only where they have figures.
    shown = people.filter(Q(pk__in=list(reps)) | Q(is_active=True, roles__contains=[Role.REP])).select_related("team")
    for user_row in shown:
        row(user_row.pk).user = user_row
    rows = sorted((r for r in reps.values() if r.user is not None), key=lambda r: (r.user.full_name, r.user.pk))
    return Health(period=period, pools=pools_waiting(user, now), reps=rows, cap=cap)


METRICS = {
    "waiting": _("Waiting in the pool"),
    "claims": _("Claimed"),
    "claim_deals": _("Claimed, then a deal"),
    "fallbacks": _("Fell back to the pool"),
    "followed": _("Followed up recently"),
}


def waiting_customers(user, *, pool: Pool | None, bucket: str | None, now: dt.datetime) -> QuerySet[Customer]:
    qs = Customer.objects.filter(
        tenant_id=user.tenant_id,
        owner__isnull=True,
        deleted_at__isnull=True,
        pool__in=Pool.objects.visible_to(user).values("pk"),
    ).annotate(since=_since_expression())
    if pool is not None:
        qs = qs.filter(pool=pool)
    if bucket:
        low, high = bucket_bounds(bucket, now)
        qs = qs.filter(since__lt=high)
        if low is not None:
            qs = qs.filter(since__gte=low)
    return qs.select_related("pool", "level").order_by("since", "pk")


def drill_down(
    user, metric: str, *, period: Period, pool=None, bucket=None, rep=None, now: dt.datetime | None = None
) -> QuerySet:
    """The rows behind one figure of `pool_health`: customers (waiting, followed) or ownership events (claims,
    claims followed by a deal, fallbacks), scoped exactly as the figure is."""
    now = now or timezone.now()
    if metric == "waiting":
        return waiting_customers(user, pool=pool, bucket=bucket, now=now)
    if metric == "followed":
        qs = Customer.objects.filter(
            tenant_id=user.tenant_id,
            owner__in=people_in_scope(user).values("pk"),
            deleted_at__isnull=True,
            last_followed_up_at__gte=now - HOARD_RECENT_DAYS * DAY,
        )
        if rep is not None:
            qs = qs.filter(owner=rep)
        return qs.select_related("owner", "pool", "level").order_by("-last_followed_up_at", "pk")
    reason = OwnershipEvent.Reason.FALLBACK if metric == "fallbacks" else OwnershipEvent.Reason.CLAIM
    qs = events_in(user, reason, period)
    if metric == "claim_deals":
        qs = claims_with_deal(qs)
    if rep is not None:
        qs = qs.filter(**{"from_owner" if metric == "fallbacks" else "to_owner": rep})
    return qs.select_related("customer__owner", "customer__pool", "to_owner", "from_owner").order_by("-at", "-pk")
