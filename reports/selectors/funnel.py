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
from django.db.models import Avg, Count, F, Q

from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
from crm.workcalendar.selectors import local_midnight
from reports.models import FunnelMonth, FunnelMonthStay, OpportunityFunnelFact
from reports.selectors.scope import ReportScope, whole_months
from reports.services.funnel_facts import funnel_facts_rebuilding_since
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
    # When a rebuild of every fact (after a change of the company's time zone) was requested, while it runs.
    rebuilding_since: dt.datetime | None = None

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


def _sql(qs, *fields) -> tuple[str, list]:
    sql, params = qs.order_by().values(*fields).query.sql_with_params()
    return sql, list(params)


def funnel(scope: ReportScope) -> Funnel:
    """The funnel from the funnel facts: the whole months of the period from their monthly sums (`FunnelMonth`,
    `FunnelMonthStay`), the days before and after them from the facts themselves; one query for the counts,
    amounts, cycle, lost reasons and freshness, one for the time in each stage."""
    pipeline = funnel_pipeline(scope)
    result = Funnel(pipeline=pipeline)
    if pipeline is None:
        return result
    steps, open_ids, _width = _steps(pipeline)
    first, after = whole_months(scope.period.start, scope.period.end)
    months = scope._narrow(
        FunnelMonth.objects.visible_to(scope.user).filter(pipeline_id=pipeline.pk, month__gte=first, month__lt=after),
        "owner",
    )
    month_stays = scope._narrow(
        FunnelMonthStay.objects.visible_to(scope.user).filter(
            pipeline_id=pipeline.pk, month__gte=first, month__lt=after
        ),
        "owner",
    )
    facts = cohort_facts(scope, pipeline)
    if first < after:
        tenant = scope.tenant
        facts = facts.filter(
            Q(cohort_at__lt=local_midnight(tenant, first)) | Q(cohort_at__gte=local_midnight(tenant, after))
        )
    month_sql, month_params = _sql(
        months,
        "stage_ids",
        "status",
        "currency",
        "rate_month",
        "lost_reason",
        "n",
        "amount",
        "cycle_seconds",
        "cycle_n",
        "refreshed_at",
    )
    fact_sql, fact_params = _sql(
        facts,
        "stage_ids",
        "status",
        "currency",
        "rate_month",
        "lost_reason",
        "amount",
        "closed_at",
        "cohort_at",
        "refreshed_at",
    )
    sql = f"""
        SELECT stage_ids, status, currency, rate_month, lost_reason, sum(n), sum(amount), sum(cycle_seconds),
               sum(cycle_n), max(refreshed_at)
        FROM (
            SELECT m.stage_ids, m.status, m.currency, m.rate_month, m.lost_reason, m.n, m.amount, m.cycle_seconds,
                   m.cycle_n, m.refreshed_at
            FROM ({month_sql}) m
            UNION ALL
            SELECT f.stage_ids, f.status, f.currency, f.rate_month,
                   CASE WHEN f.status = 'lost' THEN f.lost_reason ELSE '' END, 1, f.amount,
                   CASE WHEN f.status = 'won' AND f.closed_at IS NOT NULL
                        THEN extract(epoch FROM f.closed_at - f.cohort_at)::float8 ELSE 0 END,
                   CASE WHEN f.status = 'won' AND f.closed_at IS NOT NULL THEN 1 ELSE 0 END, f.refreshed_at
            FROM ({fact_sql}) f
        ) rows
        GROUP BY stage_ids, status, currency, rate_month, lost_reason
    """  # noqa: S608 - the formatted parts are the ORM's own SQL; every value is a parameter
    groups: list[_Group] = []
    reasons: dict[str, int] = {}
    cycle_seconds, cycle_n = 0.0, 0
    with connection.cursor() as cursor:
        cursor.execute(sql, [*month_params, *fact_params])
        for stage_ids, status, currency, month, reason, n, amount, c_seconds, c_n, fresh in cursor.fetchall():
            groups.append(_Group(list(stage_ids), status, int(n), amount, currency, month))
            if status == StageKind.LOST:
                reasons[reason] = reasons.get(reason, 0) + int(n)
            cycle_seconds += float(c_seconds or 0)
            cycle_n += int(c_n or 0)
            if fresh is not None and (result.facts_as_of is None or fresh > result.facts_as_of):
                result.facts_as_of = fresh
        if reasons:
            # Ranked by PostgreSQL, so reasons that tie sort as the raw computation sorts them.
            cursor.execute(
                "SELECT r, n FROM unnest(%s::text[], %s::int[]) u(r, n) ORDER BY n DESC, r LIMIT %s",
                [list(reasons), list(reasons.values()), LOST_REASONS_SHOWN],
            )
            result.lost_reasons = [(r, n) for r, n in cursor.fetchall()]
    stay_month_sql, stay_month_params = _sql(month_stays, "stage_id", "seconds", "stays")
    stay_fact_sql, stay_fact_params = _sql(facts, "stage_ids", "stay_seconds", "stay_counts")
    stay_sql = f"""
        SELECT stage, sum(secs), sum(n) FROM (
            SELECT m.stage_id AS stage, m.seconds AS secs, m.stays AS n FROM ({stay_month_sql}) m
            UNION ALL
            SELECT u.stage, u.secs, u.n
            FROM ({stay_fact_sql}) f CROSS JOIN LATERAL unnest(f.stage_ids, f.stay_seconds, f.stay_counts) u(stage, secs, n)
        ) stays
        GROUP BY stage HAVING sum(n) > 0
    """  # noqa: S608 - the formatted parts are the ORM's own SQL; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(stay_sql, [*stay_month_params, *stay_fact_params])
        stays = {stage: _days(float(secs) / int(n)) for stage, secs, n in cursor.fetchall()}
    _fill(result, steps, open_ids, groups, stays, rates_for(scope.tenant))
    result.avg_cycle_days = _days(cycle_seconds / cycle_n) if cycle_n else None
    result.rebuilding_since = funnel_facts_rebuilding_since(tenant_id=scope.user.tenant_id)
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
