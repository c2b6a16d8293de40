"""The funnel of one pipeline: of the opportunities created in the period (the cohort), how many reached each stage
(entered it, or a later one, or won), the conversion from stage to stage, the win rate, the average cycle time, the
average time spent in each stage, the lost reasons ranked and the amount per stage.

`funnel` reads the funnel facts (`reports.models.OpportunityFunnelFact`, one narrow row per opportunity kept by
`reports.services.funnel_facts`): one grouped scan, whatever the length of the stage history.
`funnel_from_history` computes the same figures from the opportunities and their raw `StageChange` rows; the tests
hold the two equal, and the benchmark times both. A fixed number of SQL queries whatever the row count; the
counting happens in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Avg, Count, F

from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
from reports.models import OpportunityFunnelFact
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
    # Every amount of the cohort converted to the tenant's currency: the rates used and the amounts without one.
    conversion: ConvertedSum | None = None
    # The newest funnel fact counted (None when computed from the raw history or when there is no row).
    facts_as_of: dt.datetime | None = None

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


def cohort_facts(scope: ReportScope, pipeline: Pipeline):
    """The funnel facts of `cohort(scope, pipeline)`: the same opportunities, read from their facts."""
    qs = OpportunityFunnelFact.objects.visible_to(scope.user).filter(
        pipeline_id=pipeline.pk, cohort_at__gte=scope.period.start_at, cohort_at__lt=scope.period.end_at
    )
    return scope._narrow(qs, "owner")


# The month whose exchange rate converts an opportunity's amount: the month it closed, else the month it was created
# (in the company's time zone). `{closed}` and `{created}` name the row's columns.
RATE_MONTH_SQL = "(date_trunc('month', coalesce({closed}, {created}) AT TIME ZONE %s))::date"


@dataclass
class _Group:
    """Opportunities of the cohort alike for the funnel: same status, same set of stages entered, and same currency
    and month of their exchange rate."""

    stage_ids: list[int]
    status: str
    n: int
    amount: Decimal
    currency: str
    month: dt.date


def _steps(pipeline: Pipeline) -> tuple[list[Stage], list[int], int]:
    """The funnel's steps, the open stages' ids in board order, and how many stages the pipeline has."""
    stages = list(Stage.objects.filter(pipeline=pipeline).ordered())
    # The open stages in use and the won stage are the funnel's steps; lost is reported beside it.
    steps = [s for s in stages if s.kind == StageKind.WON or (s.kind == StageKind.OPEN and s.is_active)]
    return steps, [s.pk for s in stages if s.kind == StageKind.OPEN], len(stages)


def _fill(
    result: Funnel, steps: list[Stage], open_ids: list[int], groups: list[_Group], stays: dict, rates: Rates
) -> None:
    """The counts, amounts (converted to the tenant's currency) and conversions of each step from the cohort's
    groups, and the time spent per stage."""
    index = {pk: i + 1 for i, pk in enumerate(open_ids)}
    histogram = []
    home = rates.home
    result.conversion = ConvertedSum(home)
    won = ConvertedSum(home)
    for group in groups:
        furthest = max((index[pk] for pk in group.stage_ids if pk in index), default=0)
        histogram.append((furthest, group))
        rates.add(result.conversion, group.amount, group.currency, group.month, group.n)
        result.cohort += group.n
        if group.status == StageKind.WON:
            result.won += group.n
            rates.add(won, group.amount, group.currency, group.month, group.n)
        elif group.status == StageKind.LOST:
            result.lost += group.n
        else:
            result.open += group.n
    result.won_amount = won.total
    result.other_currencies = result.conversion.missing
    for stage in steps:
        row = StageRow(stage=stage)
        total = ConvertedSum(home)
        for furthest, group in histogram:
            if stage.kind == StageKind.WON:
                reached = group.status == StageKind.WON
            else:
                # Won deals passed every open stage; others reached the stages up to the furthest they entered.
                reached = group.status == StageKind.WON or furthest >= index[stage.pk]
            if reached:
                row.reached += group.n
                rates.add(total, group.amount, group.currency, group.month, group.n)
        row.amount = total.total
        row.avg_days = stays.get(stage.pk)
        result.stages.append(row)
    previous = None
    for row in result.stages:
        if previous is not None and previous.reached:
            row.conversion = round(100 * row.reached / previous.reached, 1)
        if result.cohort:
            row.of_cohort = round(100 * row.reached / result.cohort, 1)
        previous = row


def _lost_reasons(qs) -> list[tuple[str, int]]:
    return list(
        qs.filter(status=StageKind.LOST)
        .order_by()
        .values_list("lost_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "lost_reason")[:LOST_REASONS_SHOWN]
    )


def funnel(scope: ReportScope) -> Funnel:
    """The funnel from the funnel facts: one grouped scan of the cohort's facts (counts, amounts, time in each
    stage, freshness), the average cycle and the lost reasons."""
    pipeline = funnel_pipeline(scope)
    result = Funnel(pipeline=pipeline)
    if pipeline is None:
        return result
    # A fact lists at most every stage of the pipeline.
    steps, open_ids, width = _steps(pipeline)
    facts = cohort_facts(scope, pipeline)
    inner_sql, inner_params = (
        facts.order_by()
        .values(
            "stage_ids",
            "status",
            "amount",
            "currency",
            "closed_at",
            "cohort_at",
            "stay_seconds",
            "stay_counts",
            "refreshed_at",
        )
        .query.sql_with_params()
    )
    # Rows alike share their stage_ids, so position i of their stay arrays is the same stage: summed per position.
    month = RATE_MONTH_SQL.format(closed="closed_at", created="cohort_at")
    per_position = ", ".join(f"sum(stay_seconds[{i}]), sum(stay_counts[{i}])" for i in range(1, width + 1))
    sql = f"""
        SELECT stage_ids, status, currency, {month}, count(*), sum(amount), max(refreshed_at), {per_position}
        FROM ({inner_sql}) f
        GROUP BY stage_ids, status, currency, 4
    """  # noqa: S608 - the formatted parts are the ORM's own SQL and numbered columns; every value is a parameter
    groups: list[_Group] = []
    seconds: dict[int, float] = {}
    counts: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope.tenant.timezone, *inner_params])
        for stage_ids, status, currency, month, n, amount, fresh, *sums in cursor.fetchall():
            groups.append(_Group(list(stage_ids), status, n, amount, currency, month))
            if fresh is not None and (result.facts_as_of is None or fresh > result.facts_as_of):
                result.facts_as_of = fresh
            for i, stage_id in enumerate(stage_ids[:width]):
                seconds[stage_id] = seconds.get(stage_id, 0.0) + float(sums[2 * i] or 0)
                counts[stage_id] = counts.get(stage_id, 0) + int(sums[2 * i + 1] or 0)
    stays = {pk: _days(seconds[pk] / n) for pk, n in counts.items() if n}
    _fill(result, steps, open_ids, groups, stays, rates_for(scope.tenant))
    cycle = facts.filter(status=StageKind.WON, closed_at__isnull=False).aggregate(
        avg=Avg(F("closed_at") - F("cohort_at"))
    )["avg"]
    result.avg_cycle_days = _days(cycle.total_seconds()) if isinstance(cycle, dt.timedelta) else None
    result.lost_reasons = _lost_reasons(facts)
    return result


def funnel_from_history(scope: ReportScope) -> Funnel:
    """The funnel computed from the opportunities and their raw stage history (the reference the facts must
    equal)."""
    pipeline = funnel_pipeline(scope)
    result = Funnel(pipeline=pipeline)
    if pipeline is None:
        return result
    steps, open_ids, _width = _steps(pipeline)
    rows = cohort(scope, pipeline)
    cohort_sql, cohort_params = rows.order_by().values("pk").query.sql_with_params()
    tenant_id = scope.user.tenant_id
    month = RATE_MONTH_SQL.format(closed="o.closed_at", created="o.created_at")
    sql = f"""
        WITH cohort AS ({cohort_sql}),
        reach AS (
            SELECT o.id, o.status, o.amount, o.currency, {month} AS month,
                   coalesce(array_agg(DISTINCT sc.to_stage_id) FILTER (WHERE sc.id IS NOT NULL), '{{}}') AS stage_ids
            FROM sales_opportunity o
            LEFT JOIN sales_stagechange sc ON sc.tenant_id = o.tenant_id AND sc.opportunity_id = o.id
            WHERE o.tenant_id = %s AND o.id IN (SELECT pk FROM cohort)
            GROUP BY o.id
        )
        SELECT stage_ids, status, currency, month, count(*), sum(amount)
        FROM reach GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - the formatted part is the ORM's own SQL; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [*cohort_params, scope.tenant.timezone, tenant_id])
        groups = [
            _Group(list(ids), status, n, amount, currency, month)
            for ids, status, currency, month, n, amount in cursor.fetchall()
        ]
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
    _fill(result, steps, open_ids, groups, stays, rates_for(scope.tenant))
    cycle = rows.filter(status=StageKind.WON, closed_at__isnull=False).aggregate(
        avg=Avg(F("closed_at") - F("created_at"))
    )["avg"]
    result.avg_cycle_days = _days(cycle.total_seconds()) if isinstance(cycle, dt.timedelta) else None
    result.lost_reasons = _lost_reasons(rows)
    return result
