"""The forecast: open opportunities by expected close month, unweighted and weighted (amount × win probability),
commit (probability at or above COMMIT_PROBABILITY) and best case (every open one); what was won in each month; the
targets of the people in scope; attainment so far and the gap. Every amount is converted to the tenant's currency
by `crm.selectors.exchange_rate` (the rate of its currency for the month it closed, else the month it was created,
as the funnel does): each figure is one query grouped by month, currency and rate month, and only those few sums are
converted; amounts with no rate are left out and counted, so the page can say so."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
from crm.workcalendar.selectors import local_midnight
from customers.models import OwnershipEvent
from reports.models import SalesTarget
from reports.selectors.scope import ReportScope, add_months, months_between
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


def forecast(scope: ReportScope) -> Forecast:
    tenant = scope.tenant
    months = months_between(scope.period.start, scope.period.end)
    rows = {m: MonthRow(month=m) for m in months}
    rates = rates_for(tenant)
    result = Forecast(months=list(rows.values()), conversion=ConvertedSum(rates.home))
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
    result.other_currencies = note.missing
    targets, result.target_source = targets_by_month(scope, months)
    for month, (amount, customers) in targets.items():
        rows[month].target, rows[month].target_customers = amount, customers
    for month, n in new_customers_by_month(scope, start_at, end_at):
        rows[month.date()].new_customers = n
    return result


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


def month_summary(scope: ReportScope) -> MonthRow:
    """The month of the scope's start in two queries (the home widget), three when a deal is in another currency
    (its rates): won so far, the weighted pipeline expected to close in it, and its target (amounts converted as on
    the forecast; those without a rate left out)."""
    first = scope.period.start.replace(day=1)
    after = add_months(first, 1)
    tenant = scope.tenant
    start_at, end_at = local_midnight(tenant, first), local_midnight(tenant, after)
    # Two sums in one query (UNION ALL), each an index-only scan of its own rows off the status index that carries
    # every column it reads (sales_opp_closed_sum_idx, sales_opp_status_close_sum_idx), not every opportunity in
    # scope filtered inside the sums. The expected amounts are summed per win probability (a few dozen groups), not
    # weighted row by row: the weighting (amount × probability / 100, exact in decimals) is applied here to those
    # few sums, then they are added up per currency and rate month and converted (a handful of groups).
    mine = scope.opportunities().annotate(rate_month=rate_month_expression(tenant, None)).order_by()
    won = (
        mine.filter(status=StageKind.WON, closed_at__gte=start_at, closed_at__lt=end_at)
        .annotate(weight=Value(None, output_field=IntegerField()))
        .values_list("status", "currency", "rate_month", "weight")
        .annotate(total=Sum("amount"))
    )
    expected = (
        mine.filter(status=StageKind.OPEN, expected_close_date__gte=first, expected_close_date__lt=after)
        .annotate(weight=probability_expression())
        .values_list("status", "currency", "rate_month", "weight")
        .annotate(total=Sum("amount"))
    )
    sums: dict[tuple, Decimal] = {}
    for status, currency, rate_month, weight, total in won.union(expected, all=True):
        amount = total if status == StageKind.WON else total * weight / 100
        sums[status, currency, rate_month] = sums.get((status, currency, rate_month), ZERO) + amount
    foreign = any(currency != tenant.currency for _status, currency, _month in sums)
    rates = rates_for(tenant) if foreign else Rates(tenant.currency, [])
    row = MonthRow(month=first)
    for (status, currency, rate_month), total in sums.items():
        amount = convert_quietly(rates, total, currency, rate_month)
        if status == StageKind.WON:
            row.won += amount
        else:
            row.weighted += amount
    targets, _source = targets_by_month(scope, [first])
    if first in targets:
        row.target, row.target_customers = targets[first]
    return row
