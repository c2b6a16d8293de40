"""The forecast: open opportunities by expected close month, unweighted and weighted (amount × win probability),
commit (probability at or above COMMIT_PROBABILITY) and best case (every open one); what was won in each month; the
targets of the people in scope; attainment so far and the gap. Every amount is converted to the tenant's currency
by `crm.selectors.exchange_rate` (the rate of its currency for the month it closed, else the month it was created,
as the funnel does): the figures are grouped in SQL by month, currency and rate month, and only those few sums are
converted; amounts with no rate are left out and counted, so the page can say so.

`forecast` reads the forecast's monthly sums (`reports.models.ForecastMonth`, kept with the funnel facts by
`reports.services.funnel_facts`): one grouped read of a few thousand rows, whatever the number of open deals.
`forecast_live` computes the same figures from the opportunities themselves; the tests hold the two equal and the
benchmark times both."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, DateField, DecimalField, ExpressionWrapper, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
from crm.workcalendar.selectors import local_midnight
from customers.models import OwnershipEvent
from reports.models import ForecastMonth, SalesTarget
from reports.selectors.scope import ReportScope, add_months, months_between
from reports.services.funnel_facts import funnel_facts_rebuilding_since
from sales.models import StageKind

COMMIT_PROBABILITY = 70

ZERO = Decimal("0")


def probability_expression():
    return Coalesce(F("probability_override"), F("stage__probability"))


def weighted_expression():
    return ExpressionWrapper(
        F("amount") * probability_expression() / Decimal(100),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def rate_month_expression(tenant, rates: Rates | None):
    """The month whose exchange rate converts an opportunity's amount (the month it closed, else the month it was
    created, in the tenant's time zone), for the currencies that have rates; None for the others (the tenant's own
    needs none, one without any rate is left out whatever its month), so they group as one and the common case (no
    foreign currency with a rate) adds no work per row. Without `rates` (not loaded yet), every foreign currency
    gets its month."""
    if rates is None:
        foreign = ~Q(currency=tenant.currency)
    else:
        currencies = [code for code in rates.currencies() if code != tenant.currency]
        if not currencies:
            return Value(None, output_field=DateField())
        foreign = Q(currency__in=currencies)
    return Case(
        When(
            foreign,
            then=TruncMonth(Coalesce("closed_at", "created_at"), tzinfo=tenant.tzinfo, output_field=DateField()),
        ),
        default=Value(None, output_field=DateField()),
        output_field=DateField(),
    )


def _day(month) -> dt.date | None:
    return month.date() if isinstance(month, dt.datetime) else month


def converted(rates: Rates, note: ConvertedSum, amount, currency: str, month, count: int) -> Decimal:
    """The sum `amount` of `count` amounts in `currency` (rate month `month`) in the tenant's currency, recorded in
    `note` (rates used, amounts left out); zero when there is no rate."""
    month = _day(month)
    part = ConvertedSum(note.currency)
    rates.add(part, amount or ZERO, currency, month, count)
    note.merge(part)
    return part.total


def convert_quietly(rates: Rates, amount, currency: str, month) -> Decimal:
    """As `converted`, for a second figure of rows already recorded once in the note."""
    return rates.convert(amount or ZERO, currency, _day(month)) or ZERO


@dataclass
class MonthRow:
    month: dt.date
    open_count: int = 0
    unweighted: Decimal = ZERO
    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    won: Decimal = ZERO
    won_count: int = 0
    target: Decimal | None = None
    target_customers: int | None = None
    new_customers: int = 0

    @property
    def best_case(self) -> Decimal:
        return self.won + self.unweighted

    @property
    def expected(self) -> Decimal:
        return self.won + self.weighted

    @property
    def attainment(self) -> float | None:
        return round(100 * float(self.won) / float(self.target), 1) if self.target else None

    @property
    def gap(self) -> Decimal | None:
        return max(self.target - self.won, ZERO) if self.target is not None else None


@dataclass
class Forecast:
    months: list[MonthRow] = field(default_factory=list)
    overdue_count: int = 0
    overdue_amount: Decimal = ZERO
    undated_count: int = 0
    other_currencies: int = 0
    target_source: str = "people"
    # Every amount counted, converted to the tenant's currency: the rates used and the amounts without one.
    conversion: ConvertedSum | None = None
    # The newest change counted by the monthly sums (None when computed live or when there is no row).
    facts_as_of: dt.datetime | None = None
    # When a rebuild of the sums (after a change of the company's time zone) was requested, while it runs.
    rebuilding_since: dt.datetime | None = None

    def total(self) -> MonthRow:
        total = MonthRow(month=None)
        for row in self.months:
            total.open_count += row.open_count
            total.unweighted += row.unweighted
            total.weighted += row.weighted
            total.commit += row.commit
            total.won += row.won
            total.won_count += row.won_count
            total.new_customers += row.new_customers
            if row.target is not None:
                total.target = (total.target or ZERO) + row.target
            if row.target_customers is not None:
                total.target_customers = (total.target_customers or 0) + row.target_customers
        return total

    def chart(self) -> dict:
        return {
            "labels": [row.month.strftime("%Y-%m") for row in self.months],
            "won": [float(row.won) for row in self.months],
            "weighted": [float(row.weighted) for row in self.months],
            "unweighted": [float(row.unweighted) for row in self.months],
            "target": [float(row.target) if row.target is not None else None for row in self.months],
            "names": {"won": str(_("Won")), "weighted": str(_("Weighted")), "target": str(_("Target"))},
        }


def targets_by_month(scope: ReportScope, months: list[dt.date]) -> tuple[dict, str]:
    """{month: (amount, new customers)} of the scope's targets, and where they come from: the team's own target when
    a team is chosen and has one for the month, else the sum of the targets of the people in scope."""
    people_targets = (
        SalesTarget.objects.filter(
            tenant_id=scope.user.tenant_id, user__in=scope.people_ids(), month__in=months, user__isnull=False
        )
        .order_by()
        .values_list("month")
        .annotate(amount=Sum("amount"), customers=Sum("new_customers"), n=Count("pk"))
    )
    result = {month: (amount, customers) for month, amount, customers, _n in people_targets}
    source = "people"
    if scope.team is not None and scope.rep is None:
        team_targets = SalesTarget.objects.filter(
            tenant_id=scope.user.tenant_id, team_id=scope.team.pk, month__in=months
        ).values_list("month", "amount", "new_customers")
        for month, amount, customers in team_targets:
            result[month] = (amount, customers)
            source = "team"
    return result, source


def _start(scope: ReportScope) -> tuple[list[dt.date], dict[dt.date, MonthRow], Rates, Forecast]:
    months = months_between(scope.period.start, scope.period.end)
    rows = {m: MonthRow(month=m) for m in months}
    rates = rates_for(scope.tenant)
    return months, rows, rates, Forecast(months=list(rows.values()), conversion=ConvertedSum(rates.home))


def _finish(scope: ReportScope, result: Forecast, months: list[dt.date], rows: dict[dt.date, MonthRow]) -> Forecast:
    """The targets and the new customers of the forecast's months."""
    tenant = scope.tenant
    start_at, end_at = local_midnight(tenant, months[0]), local_midnight(tenant, add_months(months[-1], 1))
    result.other_currencies = result.conversion.missing
    targets, result.target_source = targets_by_month(scope, months)
    for month, (amount, customers) in targets.items():
        rows[month].target, rows[month].target_customers = amount, customers
    for month, n in new_customers_by_month(scope, start_at, end_at):
        rows[month.date()].new_customers = n
    return result


# The forecast's figures from its monthly sums: per status, month, currency and rate month (the rate month kept only
# for the currencies that have rates, as `rate_month_expression` does), the count, the amount, the weighted amount
# and the commit (the stage's probability read now), and the newest change counted: the open sums of every month
# before the period's end (overdue, in the period, undated) and the won sums of the period's months.
_FORECAST_SQL = """
    SELECT m.status, m.month, m.currency, CASE WHEN m.currency = ANY(%s) THEN m.rate_month END,
           sum(m.n), sum(m.amount), sum(m.amount * coalesce(m.probability_override, s.probability) / %s),
           sum(CASE WHEN coalesce(m.probability_override, s.probability) >= %s THEN m.amount ELSE 0 END),
           max(m.refreshed_at)
    FROM ({sums}) m LEFT JOIN sales_stage s ON s.tenant_id = m.tenant_id AND s.id = m.stage_id
    WHERE (m.month IS NULL OR m.month < %s) AND (m.status = 'open' OR m.month >= %s)
    GROUP BY 1, 2, 3, 4
"""


def _scoped_sums(scope: ReportScope) -> tuple[str, list]:
    """The SQL and parameters of the monthly sums the scope counts (the user's, narrowed to team, rep, pipeline)."""
    sums = scope._narrow(ForecastMonth.objects.visible_to(scope.user), "owner")
    if scope.pipeline is not None:
        sums = sums.filter(pipeline_id=scope.pipeline.pk)
    fields = ("status", "month", "stage_id", "probability_override", "currency", "rate_month", "n", "amount")
    sql, params = sums.order_by().values("tenant_id", *fields, "refreshed_at").query.sql_with_params()
    return sql, list(params)


def forecast(scope: ReportScope) -> Forecast:
    """The forecast from its monthly sums (`ForecastMonth`): one query for the open and won figures and their
    freshness, then the targets and new customers."""
    tenant = scope.tenant
    months, rows, rates, result = _start(scope)
    note = result.conversion
    first, after = months[0], add_months(months[-1], 1)
    sums_sql, sums_params = _scoped_sums(scope)
    rated = [code for code in rates.currencies() if code != tenant.currency]
    sql = _FORECAST_SQL.format(sums=sums_sql)
    # In the order of their places: the SELECT list's, the sums' own, the WHERE's.
    params = [rated, Decimal(100), COMMIT_PROBABILITY, *sums_params, after, first]
    overdue: dict[tuple, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        figures = cursor.fetchall()
    for status, month, currency, rate_month, n, amount, weighted, commit, fresh in figures:
        if fresh is not None and (result.facts_as_of is None or fresh > result.facts_as_of):
            result.facts_as_of = fresh
        if status == StageKind.WON:
            row = rows[month]
            row.won_count += n
            row.won += converted(rates, note, amount, currency, rate_month, n)
        elif month is None:
            result.undated_count += n
        elif month < first:
            # Overdue deals are converted per currency and rate month, whatever their month, as when computed live.
            group = overdue.setdefault((currency, rate_month), [0, ZERO])
            group[0] += n
            group[1] += amount
        else:
            row = rows[month]
            row.open_count += n
            row.unweighted += converted(rates, note, amount, currency, rate_month, n)
            row.weighted += convert_quietly(rates, weighted, currency, rate_month)
            row.commit += convert_quietly(rates, commit, currency, rate_month)
    for (currency, rate_month), (n, amount) in overdue.items():
        result.overdue_count += n
        result.overdue_amount += converted(rates, note, amount, currency, rate_month, n)
    result.rebuilding_since = funnel_facts_rebuilding_since(tenant_id=scope.user.tenant_id)
    return _finish(scope, result, months, rows)


def forecast_live(scope: ReportScope) -> Forecast:
    """The forecast computed from the opportunities themselves (the reference the monthly sums must equal)."""
    tenant = scope.tenant
    months, rows, rates, result = _start(scope)
    note = result.conversion
    first, after = months[0], add_months(months[-1], 1)
    opportunities = scope.opportunities().annotate(rate_month=rate_month_expression(tenant, rates))
    open_rows = (
        opportunities.filter(status=StageKind.OPEN, expected_close_date__gte=first, expected_close_date__lt=after)
        .annotate(month=TruncMonth("expected_close_date"))
        .order_by()
        .values_list("month", "currency", "rate_month")
        .annotate(
            n=Count("pk"),
            unweighted=Sum("amount"),
            weighted=Sum(weighted_expression()),
            commit=Sum(
                Case(
                    When(Q(probability_override__gte=COMMIT_PROBABILITY), then=F("amount")),
                    When(
                        Q(probability_override__isnull=True, stage__probability__gte=COMMIT_PROBABILITY),
                        then=F("amount"),
                    ),
                    default=ZERO,
                    output_field=DecimalField(max_digits=16, decimal_places=2),
                )
            ),
        )
    )
    for month, currency, rate_month, n, unweighted, weighted, commit in open_rows:
        row = rows[month]
        row.open_count += n
        row.unweighted += converted(rates, note, unweighted, currency, rate_month, n)
        row.weighted += convert_quietly(rates, weighted, currency, rate_month)
        row.commit += convert_quietly(rates, commit, currency, rate_month)
    start_at, end_at = local_midnight(tenant, first), local_midnight(tenant, after)
    won_rows = (
        opportunities.filter(status=StageKind.WON, closed_at__gte=start_at, closed_at__lt=end_at)
        .annotate(month=TruncMonth("closed_at", tzinfo=tenant.tzinfo))
        .order_by()
        .values_list("month", "currency", "rate_month")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )
    for month, currency, rate_month, n, amount in won_rows:
        row = rows[month.date()]
        row.won_count += n
        row.won += converted(rates, note, amount, currency, rate_month, n)
    overdue = (
        opportunities.filter(status=StageKind.OPEN, expected_close_date__lt=first)
        .order_by()
        .values_list("currency", "rate_month")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )
    for currency, rate_month, n, amount in overdue:
        result.overdue_count += n
        result.overdue_amount += converted(rates, note, amount, currency, rate_month, n)
    result.undated_count = opportunities.filter(status=StageKind.OPEN, expected_close_date__isnull=True).count()
    return _finish(scope, result, months, rows)


def new_customers_by_month(scope: ReportScope, start_at: dt.datetime, end_at: dt.datetime):
    """Customers entered (created for, or imported to) the people in scope, per tenant-local month."""
    return (
        OwnershipEvent.objects.filter(
            tenant_id=scope.user.tenant_id,
            reason__in=[OwnershipEvent.Reason.CREATE, OwnershipEvent.Reason.IMPORT],
            to_owner__in=scope.people_ids(),
            at__gte=start_at,
            at__lt=end_at,
        )
        .annotate(month=TruncMonth("at", tzinfo=scope.tenant.tzinfo))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
    )


# One month's won amount and weighted open amount from the monthly sums, per status, currency and rate month (kept
# for every currency but the tenant's, as `rate_month_expression(tenant, None)` does).
_MONTH_SQL = """
    SELECT m.status, m.currency, CASE WHEN m.currency <> %s THEN m.rate_month END,
           sum(CASE WHEN m.status = 'won' THEN m.amount
                    ELSE m.amount * coalesce(m.probability_override, s.probability) / %s END)
    FROM ({sums}) m LEFT JOIN sales_stage s ON s.tenant_id = m.tenant_id AND s.id = m.stage_id
    WHERE m.month = %s
    GROUP BY 1, 2, 3
"""


def _month_row(scope: ReportScope, first: dt.date, figures: list[tuple]) -> MonthRow:
    """The month's row from its (status, currency, rate month, amount) sums, converted, with its target."""
    tenant = scope.tenant
    foreign = any(currency != tenant.currency for _status, currency, *_rest in figures)
    rates = rates_for(tenant) if foreign else Rates(tenant.currency, [])
    row = MonthRow(month=first)
    for status, currency, rate_month, total in figures:
        amount = convert_quietly(rates, total, currency, rate_month)
        if status == StageKind.WON:
            row.won += amount
        else:
            row.weighted += amount
    targets, _source = targets_by_month(scope, [first])
    if first in targets:
        row.target, row.target_customers = targets[first]
    return row


def month_summary(scope: ReportScope) -> MonthRow:
    """The month of the scope's start in two queries (the home widget), three when a deal is in another currency
    (its rates): won so far, the weighted pipeline expected to close in it, and its target (amounts converted as on
    the forecast; those without a rate left out). Read from the forecast's monthly sums (`ForecastMonth`)."""
    first = scope.period.start.replace(day=1)
    sums_sql, sums_params = _scoped_sums(scope)
    with connection.cursor() as cursor:
        cursor.execute(_MONTH_SQL.format(sums=sums_sql), [scope.tenant.currency, Decimal(100), *sums_params, first])
        figures = cursor.fetchall()
    return _month_row(scope, first, figures)


def month_summary_live(scope: ReportScope) -> MonthRow:
    """`month_summary` computed from the opportunities themselves (the reference the monthly sums must equal)."""
    first = scope.period.start.replace(day=1)
    after = add_months(first, 1)
    tenant = scope.tenant
    start_at, end_at = local_midnight(tenant, first), local_midnight(tenant, after)
    # Two sums in one query (UNION ALL), each reading only its own rows off the status index that carries the
    # columns it sums (sales_opp_closed_sum_idx, sales_opp_status_close_sum_idx), not every opportunity in scope
    # filtered inside the sums; grouped by currency and rate month, converted here (a handful of groups).
    mine = scope.opportunities().annotate(rate_month=rate_month_expression(tenant, None)).order_by()
    won = (
        mine.filter(status=StageKind.WON, closed_at__gte=start_at, closed_at__lt=end_at)
        .values_list("status", "currency", "rate_month")
        .annotate(total=Sum("amount"))
    )
    expected = (
        mine.filter(status=StageKind.OPEN, expected_close_date__gte=first, expected_close_date__lt=after)
        .values_list("status", "currency", "rate_month")
        .annotate(total=Sum(weighted_expression()))
    )
    return _month_row(scope, first, list(won.union(expected, all=True)))
