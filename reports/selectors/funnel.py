"""The funnel of one pipeline, measured from the stage history: of the opportunities created in the period (the
cohort), how many reached each stage (entered it, or a later one, or won), the conversion from stage to stage, the
win rate, the average cycle time, the average time spent in each stage, the lost reasons ranked and the amount per
stage. A fixed number of SQL queries whatever the row count; the counting happens in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Avg, Count, F

from reports.selectors.scope import ReportScope
from sales.models import Pipeline, Stage, StageKind

LOST_REASONS_SHOWN = 10


@dataclass
class StageRow:
    stage: Stage
    reached: int = 0
    amount: Decimal = Decimal("0")
    avg_days: float | None = None
    # Share of the previous row's opportunities that reached this one, and of the whole cohort.
    conversion: float | None = None
    of_cohort: float | None = None


@dataclass
class Funnel:
    pipeline: Pipeline | None
    cohort: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    won_amount: Decimal = Decimal("0")
    avg_cycle_days: float | None = None
    stages: list[StageRow] = field(default_factory=list)
    lost_reasons: list[tuple[str, int]] = field(default_factory=list)
    other_currencies: int = 0

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return round(100 * self.won / closed, 1) if closed else None

    def chart(self) -> dict:
        return {
            "labels": [row.stage.name for row in self.stages],
            "values": [row.reached for row in self.stages],
        }


def funnel_pipeline(scope: ReportScope) -> Pipeline | None:
    """The pipeline the funnel shows: the chosen one, else the first in use."""
    if scope.pipeline is not None:
        return scope.pipeline
    return Pipeline.objects.filter(tenant_id=scope.user.tenant_id).order_by("-is_active", "position", "pk").first()


def cohort(scope: ReportScope, pipeline: Pipeline):
    """The opportunities of `pipeline` created in the period that the user sees (the rows behind the funnel)."""
    return scope.opportunities(pipeline=False).filter(
        pipeline_id=pipeline.pk, created_at__gte=scope.period.start_at, created_at__lt=scope.period.end_at
    )


def _days(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 1)


def funnel(scope: ReportScope) -> Funnel:
    pipeline = funnel_pipeline(scope)
    result = Funnel(pipeline=pipeline)
    if pipeline is None:
        return result
    stages = list(Stage.objects.filter(pipeline=pipeline).ordered())
    # The open stages in use and the won stage are the funnel's steps; lost is reported beside it.
    steps = [s for s in stages if s.kind == StageKind.WON or (s.kind == StageKind.OPEN and s.is_active)]
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    rows = cohort(scope, pipeline)
    cohort_sql, cohort_params = rows.order_by().values("pk").query.sql_with_params()
    tenant_id = scope.user.tenant_id
    # Per opportunity: the furthest open stage it ever entered (its index in board order) and where it stands now.
    # Grouped again by that index, so Python sees one row per (index, status), never one per opportunity.
    sql = f"""
        WITH cohort AS ({cohort_sql}),
        reach AS (
            SELECT o.id, o.status, o.amount, o.currency,
                   max(array_position(%s::bigint[], sc.to_stage_id)) AS furthest
            FROM sales_opportunity o
            LEFT JOIN sales_stagechange sc ON sc.tenant_id = o.tenant_id AND sc.opportunity_id = o.id
            WHERE o.tenant_id = %s AND o.id IN (SELECT pk FROM cohort)
            GROUP BY o.id
        )
        SELECT coalesce(furthest, 0), status, count(*), coalesce(sum(amount) FILTER (WHERE currency = %s), 0),
               count(*) FILTER (WHERE currency <> %s)
        FROM reach GROUP BY 1, 2
    """  # noqa: S608 - the formatted part is the ORM's own SQL; every value is a parameter
    histogram: list[tuple[int, str, int, Decimal]] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [*cohort_params, open_ids, tenant_id, scope.currency, scope.currency])
        for furthest, status, n, amount, foreign in cursor.fetchall():
            histogram.append((furthest, status, n, amount))
            result.other_currencies += foreign
    for _furthest, status, n, amount in histogram:
        result.cohort += n
        if status == StageKind.WON:
            result.won += n
            result.won_amount += amount
        elif status == StageKind.LOST:
            result.lost += n
        else:
            result.open += n
    index = {pk: i + 1 for i, pk in enumerate(open_ids)}
    for stage in steps:
        row = StageRow(stage=stage)
        for furthest, status, n, amount in histogram:
            if stage.kind == StageKind.WON:
                reached = status == StageKind.WON
            else:
                # Won deals passed every open stage; others reached the stages up to the furthest they entered.
                reached = status == StageKind.WON or furthest >= index[stage.pk]
            if reached:
                row.reached += n
                row.amount += amount
        result.stages.append(row)
    previous = None
    for row in result.stages:
        if previous is not None and previous.reached:
            row.conversion = round(100 * row.reached / previous.reached, 1)
        if result.cohort:
            row.of_cohort = round(100 * row.reached / result.cohort, 1)
        previous = row
    # Time spent in each stage: from entering it to the next move, over the cohort's completed stays.
    stay_sql = f"""
        WITH cohort AS ({cohort_sql})
        SELECT to_stage_id, avg(extract(epoch FROM next_at - at))
        FROM (
            SELECT sc.to_stage_id, sc.at,
                   lead(sc.at) OVER (PARTITION BY sc.opportunity_id ORDER BY sc.at, sc.id) AS next_at
            FROM sales_stagechange sc
            WHERE sc.tenant_id = %s AND sc.opportunity_id IN (SELECT pk FROM cohort)
        ) stays
        WHERE next_at IS NOT NULL
        GROUP BY to_stage_id
    """  # noqa: S608 - the formatted part is the ORM's own SQL; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(stay_sql, [*cohort_params, tenant_id])
        stays = {stage_id: _days(seconds) for stage_id, seconds in cursor.fetchall()}
    for row in result.stages:
        row.avg_days = stays.get(row.stage.pk)
    cycle = rows.filter(status=StageKind.WON, closed_at__isnull=False).aggregate(
        avg=Avg(F("closed_at") - F("created_at"))
    )["avg"]
    result.avg_cycle_days = _days(cycle.total_seconds()) if isinstance(cycle, dt.timedelta) else None
    result.lost_reasons = list(
        rows.filter(status=StageKind.LOST)
        .order_by()
        .values_list("lost_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "lost_reason")[:LOST_REASONS_SHOWN]
    )
    return result
