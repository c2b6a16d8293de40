"""Keeping the funnel facts (`OpportunityFunnelFact`) equal to what the opportunities and their stage history say,
and their monthly sums (the funnel's `FunnelMonth`, `FunnelMonthStay`, the forecast's `ForecastMonth`) equal to the
facts.

One statement writes them, for a few opportunities (on every save of an opportunity or of a stage change: the
signals connected in `ReportsConfig.ready()`, inside the saving transaction) or for a tenant's opportunities in
batches (the command `rebuild_funnel_facts` and the job `reports.tasks.rebuild_tenant_funnel_facts`, for data
written before the facts existed or in bulk). It recomputes each row from scratch — INSERT … ON CONFLICT DO UPDATE —
so running it twice, or concurrently, leaves the same rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from crm import locks
from sales.models import Opportunity

REBUILD_BATCH = 20_000

# How long a requested rebuild is announced on the funnel page at most (a lost job must not leave it forever).
REBUILD_MARK_SECONDS = 24 * 3600


def _rebuild_key(tenant_id: int) -> str:
    return f"reports:funnel-facts-rebuild:{tenant_id}"


def funnel_facts_rebuild_marked(*, tenant_id: int) -> None:
    """Note that a rebuild of the tenant's facts was requested now (the funnel page says so until it is done)."""
    cache.set(_rebuild_key(tenant_id), timezone.now().isoformat(), REBUILD_MARK_SECONDS)


def funnel_facts_rebuilding_since(*, tenant_id: int) -> dt.datetime | None:
    """When the pending rebuild of the tenant's facts was requested; None when none is pending."""
    value = cache.get(_rebuild_key(tenant_id))
    return dt.datetime.fromisoformat(value) if value else None


# %(filter)s is one of the two fixed conditions below; every value is a parameter.
_REFRESH_SQL = """
    WITH opps AS (
        SELECT o.id, o.tenant_id, o.pipeline_id, o.owner_id, o.created_at, o.status, o.amount, o.currency,
               o.closed_at, o.lost_reason, o.stage_id, o.probability_override,
               (date_trunc('month', o.created_at AT TIME ZONE t.timezone))::date AS cohort_month,
               (date_trunc('month', coalesce(o.closed_at, o.created_at) AT TIME ZONE t.timezone))::date AS rate_month,
               CASE WHEN o.status = 'open' THEN date_trunc('month', o.expected_close_date)::date
                    WHEN o.status = 'won' THEN (date_trunc('month', o.closed_at AT TIME ZONE t.timezone))::date
               END AS forecast_month
        FROM sales_opportunity o JOIN crm_tenant t ON t.id = o.tenant_id
        WHERE o.tenant_id = %(tenant)s AND {filter}
    ),
    moves AS (
        SELECT sc.opportunity_id, sc.to_stage_id, sc.at,
               lead(sc.at) OVER (PARTITION BY sc.opportunity_id ORDER BY sc.at, sc.id) AS next_at
        FROM sales_stagechange sc
        WHERE sc.tenant_id = %(tenant)s AND sc.opportunity_id IN (SELECT id FROM opps)
    ),
    per_stage AS (
        SELECT opportunity_id, to_stage_id, min(at) AS first_in, max(next_at) AS last_out,
               coalesce(sum(extract(epoch FROM next_at - at)) FILTER (WHERE next_at IS NOT NULL), 0)::float8 AS secs,
               count(next_at)::int AS stays
        FROM moves GROUP BY opportunity_id, to_stage_id
    ),
    history AS (
        SELECT opportunity_id,
               array_agg(to_stage_id ORDER BY to_stage_id) AS stage_ids,
               array_agg(secs ORDER BY to_stage_id) AS stay_seconds,
               array_agg(stays ORDER BY to_stage_id) AS stay_counts,
               array_agg(first_in ORDER BY to_stage_id) AS first_entered_at,
               array_agg(last_out ORDER BY to_stage_id) AS last_left_at
        FROM per_stage GROUP BY opportunity_id
    )
    INSERT INTO reports_opportunityfunnelfact (
        tenant_id, created_at, updated_at, opportunity_id, pipeline_id, owner_id, cohort_at, status, amount,
        currency, closed_at, lost_reason, stage_ids, stay_seconds, stay_counts, first_entered_at, last_left_at,
        cohort_month, rate_month, stage_id, probability_override, forecast_month, refreshed_at)
    SELECT o.tenant_id, now(), now(), o.id, o.pipeline_id, o.owner_id, o.created_at, o.status, o.amount,
           o.currency, o.closed_at, o.lost_reason, coalesce(h.stage_ids, '{{}}'), coalesce(h.stay_seconds, '{{}}'),
           coalesce(h.stay_counts, '{{}}'), coalesce(h.first_entered_at, '{{}}'), coalesce(h.last_left_at, '{{}}'),
           o.cohort_month, o.rate_month, o.stage_id, o.probability_override, o.forecast_month, clock_timestamp()
    FROM opps o LEFT JOIN history h ON h.opportunity_id = o.id
    ON CONFLICT (tenant_id, opportunity_id) DO UPDATE SET
        updated_at = EXCLUDED.updated_at, pipeline_id = EXCLUDED.pipeline_id, owner_id = EXCLUDED.owner_id,
        cohort_at = EXCLUDED.cohort_at, status = EXCLUDED.status, amount = EXCLUDED.amount,
        currency = EXCLUDED.currency, closed_at = EXCLUDED.closed_at, lost_reason = EXCLUDED.lost_reason,
        stage_ids = EXCLUDED.stage_ids, stay_seconds = EXCLUDED.stay_seconds, stay_counts = EXCLUDED.stay_counts,
        first_entered_at = EXCLUDED.first_entered_at, last_left_at = EXCLUDED.last_left_at,
        cohort_month = EXCLUDED.cohort_month, rate_month = EXCLUDED.rate_month, stage_id = EXCLUDED.stage_id,
        probability_override = EXCLUDED.probability_override, forecast_month = EXCLUDED.forecast_month,
        refreshed_at = EXCLUDED.refreshed_at
"""
_BY_IDS = _REFRESH_SQL.format(filter="o.id = ANY(%(ids)s)")
_BY_RANGE = _REFRESH_SQL.format(filter="o.id >= %(low)s AND o.id < %(high)s")

# The funnel's bucket (pipeline, owner, cohort month) of each fact, and its forecast bucket (pipeline, owner,
# forecast month) when the forecast counts it (open or won).
_BUCKETS_OF = """
    SELECT DISTINCT pipeline_id, owner_id, cohort_month, status IN ('open', 'won'), forecast_month
    FROM reports_opportunityfunnelfact
    WHERE tenant_id = %(tenant)s AND opportunity_id = ANY(%(ids)s)
"""

# The buckets (pipeline, owner, month) in %(pipelines)s, %(owners)s, %(months)s (arrays of the same length), or
# every bucket of the tenant when {where} is TRUE.
_BUCKET_KEYS = "(SELECT * FROM unnest(%(pipelines)s::bigint[], %(owners)s::bigint[], %(months)s::date[])) k(p, o, m)"
_MONTHS_SQL = """
    DELETE FROM reports_funnelmonth r USING {keys}
    WHERE r.tenant_id = %(tenant)s AND r.pipeline_id = k.p AND r.owner_id = k.o AND r.month = k.m;
    DELETE FROM reports_funnelmonthstay r USING {keys}
    WHERE r.tenant_id = %(tenant)s AND r.pipeline_id = k.p AND r.owner_id = k.o AND r.month = k.m;
    INSERT INTO reports_funnelmonth (tenant_id, created_at, updated_at, pipeline_id, owner_id, month, status,
        stage_ids, currency, rate_month, lost_reason, n, amount, cycle_seconds, cycle_n, refreshed_at)
    SELECT f.tenant_id, now(), now(), f.pipeline_id, f.owner_id, f.cohort_month, f.status, f.stage_ids, f.currency,
           f.rate_month, CASE WHEN f.status = 'lost' THEN f.lost_reason ELSE '' END, count(*), sum(f.amount),
           coalesce(sum(extract(epoch FROM f.closed_at - f.cohort_at))
                    FILTER (WHERE f.status = 'won' AND f.closed_at IS NOT NULL), 0)::float8,
           count(*) FILTER (WHERE f.status = 'won' AND f.closed_at IS NOT NULL), max(f.refreshed_at)
    FROM reports_opportunityfunnelfact f JOIN {keys} ON f.pipeline_id = k.p AND f.owner_id = k.o AND f.cohort_month = k.m
    WHERE f.tenant_id = %(tenant)s
    GROUP BY f.tenant_id, f.pipeline_id, f.owner_id, f.cohort_month, f.status, f.stage_ids, f.currency, f.rate_month,
             CASE WHEN f.status = 'lost' THEN f.lost_reason ELSE '' END;
    INSERT INTO reports_funnelmonthstay (tenant_id, created_at, updated_at, pipeline_id, owner_id, month, stage_id,
        seconds, stays)
    SELECT f.tenant_id, now(), now(), f.pipeline_id, f.owner_id, f.cohort_month, u.stage, sum(u.secs), sum(u.n)
    FROM reports_opportunityfunnelfact f JOIN {keys} ON f.pipeline_id = k.p AND f.owner_id = k.o AND f.cohort_month = k.m
         CROSS JOIN LATERAL unnest(f.stage_ids, f.stay_seconds, f.stay_counts) AS u(stage, secs, n)
    WHERE f.tenant_id = %(tenant)s
    GROUP BY f.tenant_id, f.pipeline_id, f.owner_id, f.cohort_month, u.stage
    HAVING sum(u.n) > 0
"""
_MONTHS_BY_KEYS = _MONTHS_SQL.format(keys=_BUCKET_KEYS)
_ALL_KEYS = (
    "(SELECT DISTINCT pipeline_id, owner_id, cohort_month FROM reports_opportunityfunnelfact"
    " WHERE tenant_id = %(tenant)s) k(p, o, m)"
)
_MONTHS_ALL = _MONTHS_SQL.format(keys=_ALL_KEYS)

# The forecast's sums of the open and won facts, of the buckets (pipeline, owner, forecast month) in %(pipelines)s,
# %(owners)s, %(months)s ({join}: a month may be NULL, open deals without an expected close date), or of every fact
# of the tenant ({join} empty).
_FORECAST_INSERT = """
    INSERT INTO reports_forecastmonth (tenant_id, created_at, updated_at, pipeline_id, owner_id, month, status,
        stage_id, probability_override, currency, rate_month, n, amount, refreshed_at)
    SELECT f.tenant_id, now(), now(), f.pipeline_id, f.owner_id, f.forecast_month, f.status,
           CASE WHEN f.status = 'open' THEN f.stage_id END,
           CASE WHEN f.status = 'open' THEN f.probability_override END,
           f.currency, f.rate_month, count(*), sum(f.amount), max(f.refreshed_at)
    FROM reports_opportunityfunnelfact f {join}
    WHERE f.tenant_id = %(tenant)s AND f.status IN ('open', 'won')
    GROUP BY 1, 4, 5, 6, 7, 8, 9, 10, 11
"""
_FORECAST_DELETE_KEYS = """
    DELETE FROM reports_forecastmonth r USING {keys}
    WHERE r.tenant_id = %(tenant)s AND r.pipeline_id = k.p AND r.owner_id = k.o AND r.month IS NOT DISTINCT FROM k.m;
"""
_FORECAST_JOIN_KEYS = (
    "JOIN {keys} ON f.pipeline_id = k.p AND f.owner_id = k.o AND f.forecast_month IS NOT DISTINCT FROM k.m"
)
_FORECAST_BY_KEYS = _FORECAST_DELETE_KEYS.format(keys=_BUCKET_KEYS) + _FORECAST_INSERT.format(
    join=_FORECAST_JOIN_KEYS.format(keys=_BUCKET_KEYS)
)
_FORECAST_DELETE_ALL = "DELETE FROM reports_forecastmonth WHERE tenant_id = %(tenant)s;"
_FORECAST_ALL = _FORECAST_DELETE_ALL + _FORECAST_INSERT.format(join="")


def _bucket_order(bucket: tuple) -> tuple:
    pipeline_id, owner_id, month = bucket
    return (pipeline_id, owner_id, month is not None, month or dt.date.min)


def _buckets_of(cursor, tenant_id: int, ids: list[int]) -> tuple[set[tuple], set[tuple]]:
    """The funnel buckets and the forecast buckets of these opportunities' facts as they stand."""
    cursor.execute(_BUCKETS_OF, {"tenant": tenant_id, "ids": ids})
    funnel, forecast = set(), set()
    for pipeline_id, owner_id, cohort_month, counted, forecast_month in cursor.fetchall():
        funnel.add((pipeline_id, owner_id, cohort_month))
        if counted:
            forecast.add((pipeline_id, owner_id, forecast_month))
    return funnel, forecast


def _keys(tenant_id: int, ordered: list[tuple]) -> dict:
    return {
        "tenant": tenant_id,
        "pipelines": [b[0] for b in ordered],
        "owners": [b[1] for b in ordered],
        "months": [b[2] for b in ordered],
    }


def _months_refresh(cursor, tenant_id: int, buckets: set[tuple]) -> None:
    """Rewrite these buckets' monthly sums from their facts, each bucket under its advisory lock (taken in a fixed
    order), so concurrent writers of one bucket take turns and the last one sees both."""
    if not buckets:
        return
    ordered = sorted(buckets)
    for pipeline_id, owner_id, month in ordered:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [locks.FUNNEL_MONTH, f"{tenant_id}:{pipeline_id}:{owner_id}:{month}"],
        )
    cursor.execute(_MONTHS_BY_KEYS, _keys(tenant_id, ordered))


def _forecast_refresh(cursor, tenant_id: int, buckets: set[tuple]) -> None:
    """Rewrite these forecast buckets' sums from their facts, under their advisory locks (after the funnel's, in a
    fixed order), as `_months_refresh` does."""
    if not buckets:
        return
    ordered = sorted(buckets, key=_bucket_order)
    for pipeline_id, owner_id, month in ordered:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [locks.FORECAST_MONTH, f"{tenant_id}:{pipeline_id}:{owner_id}:{month}"],
        )
    cursor.execute(_FORECAST_BY_KEYS, _keys(tenant_id, ordered))


def funnel_facts_refresh(*, tenant_id: int, opportunity_ids: Iterable[int]) -> int:
    """Rewrite the facts of these opportunities of the tenant from their rows and stage history; the number
    written (an id not of the tenant, or gone, writes nothing)."""
    ids = sorted({int(pk) for pk in opportunity_ids})
    if not ids:
        return 0
    params = {"tenant": tenant_id, "ids": ids}
    with transaction.atomic(), connection.cursor() as cursor:
        funnel, forecast = _buckets_of(cursor, tenant_id, ids)
        cursor.execute(_BY_IDS, params)
        written = cursor.rowcount
        funnel_now, forecast_now = _buckets_of(cursor, tenant_id, ids)
        _months_refresh(cursor, tenant_id, funnel | funnel_now)
        _forecast_refresh(cursor, tenant_id, forecast | forecast_now)
        return written


def funnel_facts_rebuild(*, tenant_id: int, batch: int = REBUILD_BATCH) -> int:
    """Rewrite every fact of the tenant, `batch` opportunity ids at a time (each batch its own transaction, so a
    big tenant never holds one long lock); the number of opportunities written."""
    bounds = Opportunity.objects.filter(tenant_id=tenant_id).order_by().values_list("pk", flat=True)
    low, high = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if low is None:
        return 0
    written = 0
    start = low
    while start <= high:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_BY_RANGE, {"tenant": tenant_id, "low": start, "high": start + batch})
            written += cursor.rowcount
        start += batch
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.FUNNEL_MONTH, tenant_id])
        cursor.execute("DELETE FROM reports_funnelmonth WHERE tenant_id = %s", [tenant_id])
        cursor.execute("DELETE FROM reports_funnelmonthstay WHERE tenant_id = %s", [tenant_id])
        cursor.execute(_MONTHS_ALL, {"tenant": tenant_id})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [locks.FORECAST_MONTH, tenant_id])
        cursor.execute(_FORECAST_ALL, {"tenant": tenant_id})
    cache.delete(_rebuild_key(tenant_id))
    return written


def on_opportunity_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        funnel_facts_refresh(tenant_id=instance.tenant_id, opportunity_ids=[instance.pk])


def on_opportunity_deleting(sender, instance, **kwargs) -> None:
    with connection.cursor() as cursor:
        instance._funnel_buckets, instance._forecast_buckets = _buckets_of(cursor, instance.tenant_id, [instance.pk])


def on_opportunity_deleted(sender, instance, **kwargs) -> None:
    """A deleted opportunity's facts went with it (cascade): its months' sums are rewritten without it."""
    with connection.cursor() as cursor:
        _months_refresh(cursor, instance.tenant_id, getattr(instance, "_funnel_buckets", set()))
        _forecast_refresh(cursor, instance.tenant_id, getattr(instance, "_forecast_buckets", set()))


def on_stage_change_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        funnel_facts_refresh(tenant_id=instance.tenant_id, opportunity_ids=[instance.opportunity_id])


def on_opportunities_written(sender, tenant_id, opportunity_ids, **kwargs) -> None:
    """Opportunities (or their stage history) written in bulk, which post_save never saw: their facts, in one
    set-based refresh inside the writing transaction."""
    funnel_facts_refresh(tenant_id=tenant_id, opportunity_ids=opportunity_ids)
