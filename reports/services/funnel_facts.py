"""Keeping the funnel facts (`OpportunityFunnelFact`) equal to what the stage history says.

One statement writes them, for a few opportunities (on every save of an opportunity or of a stage change: the
signals connected in `ReportsConfig.ready()`, inside the saving transaction) or for a tenant's opportunities in
batches (the command `rebuild_funnel_facts` and the job `reports.tasks.rebuild_tenant_funnel_facts`, for data
written before the facts existed or in bulk). It recomputes each row from scratch — INSERT … ON CONFLICT DO UPDATE —
so running it twice, or concurrently, leaves the same rows."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from sales.models import Opportunity

REBUILD_BATCH = 20_000

# %(filter)s is one of the two fixed conditions below; every value is a parameter.
_REFRESH_SQL = """
    WITH opps AS (
        SELECT o.id, o.tenant_id, o.pipeline_id, o.owner_id, o.created_at, o.status, o.amount, o.currency,
               o.closed_at, o.lost_reason
        FROM sales_opportunity o
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
        refreshed_at)
    SELECT o.tenant_id, now(), now(), o.id, o.pipeline_id, o.owner_id, o.created_at, o.status, o.amount,
           o.currency, o.closed_at, o.lost_reason, coalesce(h.stage_ids, '{{}}'), coalesce(h.stay_seconds, '{{}}'),
           coalesce(h.stay_counts, '{{}}'), coalesce(h.first_entered_at, '{{}}'), coalesce(h.last_left_at, '{{}}'),
           clock_timestamp()
    FROM opps o LEFT JOIN history h ON h.opportunity_id = o.id
    ON CONFLICT (tenant_id, opportunity_id) DO UPDATE SET
        updated_at = EXCLUDED.updated_at, pipeline_id = EXCLUDED.pipeline_id, owner_id = EXCLUDED.owner_id,
        cohort_at = EXCLUDED.cohort_at, status = EXCLUDED.status, amount = EXCLUDED.amount,
        currency = EXCLUDED.currency, closed_at = EXCLUDED.closed_at, lost_reason = EXCLUDED.lost_reason,
        stage_ids = EXCLUDED.stage_ids, stay_seconds = EXCLUDED.stay_seconds, stay_counts = EXCLUDED.stay_counts,
        first_entered_at = EXCLUDED.first_entered_at, last_left_at = EXCLUDED.last_left_at,
        refreshed_at = EXCLUDED.refreshed_at
"""
_BY_IDS = _REFRESH_SQL.format(filter="o.id = ANY(%(ids)s)")
_BY_RANGE = _REFRESH_SQL.format(filter="o.id >= %(low)s AND o.id < %(high)s")


def funnel_facts_refresh(*, tenant_id: int, opportunity_ids: Iterable[int]) -> int:
    """Rewrite the facts of these opportunities of the tenant from their rows and stage history; the number
    written (an id not of the tenant, or gone, writes nothing)."""
    ids = sorted({int(pk) for pk in opportunity_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_BY_IDS, {"tenant": tenant_id, "ids": ids})
        return cursor.rowcount


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
    return written


def on_opportunity_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        funnel_facts_refresh(tenant_id=instance.tenant_id, opportunity_ids=[instance.pk])


def on_stage_change_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        funnel_facts_refresh(tenant_id=instance.tenant_id, opportunity_ids=[instance.opportunity_id])
