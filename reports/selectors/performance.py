"""Team performance over the period, per person in scope: won amount and deals, new customers, follow-ups logged,
tasks done (on time and late), pool claims and fallbacks, and the average time from a new lead to its first
follow-up. One grouped query per figure; Python only merges the per-person rows. Won amounts in any currency are
converted to the tenant's (`crm.selectors.exchange_rate`, grouped by currency and rate month as on the forecast);
those without a rate are left out of the sums and counted in the conversion note."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Case, Count, DateField, F, Min, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import TruncMonth

from crm.models import Role, User
from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
from crm.workcalendar.selectors import local_midnight
from customers.models import OwnershipEvent
from reports.models import ForecastMonth
from reports.selectors.forecast import converted, rate_month_expression
from reports.selectors.scope import ReportScope, add_months, whole_months
from sales.models import FollowUp, Lead, Task
from sales.models.pipeline import StageKind

ZERO = Decimal("0")

NEW_CUSTOMER_REASONS = (OwnershipEvent.Reason.CREATE, OwnershipEvent.Reason.IMPORT)

# The figures of a rep's row; each is a drill-down metric of the records page.
METRICS = ("won_amount", "won", "new_customers", "followups", "tasks_on_time", "tasks_late", "claims", "fallbacks")


@dataclass
class RepRow:
    user: User | None
    won_amount: Decimal = ZERO
    won: int = 0
    new_customers: int = 0
    followups: int = 0
    tasks_on_time: int = 0
    tasks_late: int = 0
    claims: int = 0
    fallbacks: int = 0
    response_hours: float | None = None
    responded_leads: int = 0

    @property
    def on_time_rate(self) -> float | None:
        done = self.tasks_on_time + self.tasks_late
        return round(100 * self.tasks_on_time / done, 1) if done else None


@dataclass
class Performance:
    reps: list[RepRow] = field(default_factory=list)
    # The won amounts converted to the tenant's currency: the rates used and the amounts without one.
    conversion: ConvertedSum | None = None

    def total(self) -> RepRow:
        total = RepRow(user=None)
        hours, weight = 0.0, 0
        for row in self.reps:
            for name in METRICS:
                setattr(total, name, getattr(total, name) + getattr(row, name))
            if row.response_hours is not None:
                hours += row.response_hours * row.responded_leads
                weight += row.responded_leads
        total.responded_leads = weight
        total.response_hours = round(hours / weight, 1) if weight else None
        return total

    def chart(self) -> dict:
        top = self.reps[:15]
        return {"labels": [r.user.full_name for r in top], "values": [float(r.won_amount) for r in top]}


def won_deals(scope: ReportScope, start_at: dt.datetime, end_at: dt.datetime):
    return scope.opportunities().filter(status=StageKind.WON, closed_at__gte=start_at, closed_at__lt=end_at)


def metric_rows(scope: ReportScope, metric: str, start_at: dt.datetime, end_at: dt.datetime):
    """The records behind one figure of a person's row (or the total), scoped as the figure is counted."""
    tenant_id = scope.user.tenant_id
    people = scope.people_ids()
    if metric in ("won", "won_amount"):
        return won_deals(scope, start_at, end_at)
    if metric == "new_customers":
        return OwnershipEvent.objects.filter(
            tenant_id=tenant_id, reason__in=NEW_CUSTOMER_REASONS, to_owner__in=people, at__gte=start_at, at__lt=end_at
        )
    if metric == "followups":
        return FollowUp.objects.filter(tenant_id=tenant_id, author__in=people, happened_at__gte=start_at).filter(
            happened_at__lt=end_at
        )
    if metric in ("tasks_on_time", "tasks_late"):
        qs = Task.objects.filter(tenant_id=tenant_id, assignee__in=people, done_at__gte=start_at, done_at__lt=end_at)
        return qs.filter(done_at__lte=F("due_at")) if metric == "tasks_on_time" else qs.filter(done_at__gt=F("due_at"))
    if metric == "claims":
        return OwnershipEvent.objects.filter(
            tenant_id=tenant_id, reason=OwnershipEvent.Reason.CLAIM, to_owner__in=people, at__gte=start_at
        ).filter(at__lt=end_at)
    if metric == "fallbacks":
        return OwnershipEvent.objects.filter(
            tenant_id=tenant_id, reason=OwnershipEvent.Reason.FALLBACK, from_owner__in=people, at__gte=start_at
        ).filter(at__lt=end_at)
    raise KeyError(metric)


def _won_groups(scope: ReportScope, rates: Rates, start_at: dt.datetime, end_at: dt.datetime):
    return (
        won_deals(scope, start_at, end_at)
        .annotate(rate_month=rate_month_expression(scope.tenant, rates))
        .order_by()
        .values_list("owner_id", "currency", "rate_month")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )


def won_by_owner(scope: ReportScope, rates: Rates, *, live: bool = False) -> dict[tuple, tuple[int, Decimal]]:
    """{(owner, currency, rate month): (deals, amount)} of the deals won in the period, the rate month kept for the
    currencies that have rates (as `rate_month_expression`). The months lying wholly in the period come from the
    forecast's monthly sums (`ForecastMonth`), the days before and after them from the opportunities, in one query
    (UNION ALL); `live` reads every day from the opportunities (the reference the sums must equal)."""
    period = scope.period
    first, after = whole_months(period.start, period.end)
    if live or first == after:
        parts = [_won_groups(scope, rates, period.start_at, period.end_at)]
    else:
        tenant = scope.tenant
        middle_start, middle_end = local_midnight(tenant, first), local_midnight(tenant, after)
        rated = [code for code in rates.currencies() if code != tenant.currency]
        sums = scope._narrow(ForecastMonth.objects.visible_to(scope.user), "owner")
        if scope.pipeline is not None:
            sums = sums.filter(pipeline_id=scope.pipeline.pk)
        parts = [
            sums.filter(status=StageKind.WON, month__gte=first, month__lt=after)
            .annotate(rate=Case(When(currency__in=rated, then=F("rate_month")), default=None, output_field=DateField()))
            .order_by()
            .values_list("owner_id", "currency", "rate")
            .annotate(deals=Sum("n"), total=Sum("amount"))
        ]
        if period.start_at < middle_start:
            parts.append(_won_groups(scope, rates, period.start_at, middle_start))
        if middle_end < period.end_at:
            parts.append(_won_groups(scope, rates, middle_end, period.end_at))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    groups: dict[tuple, tuple[int, Decimal]] = {}
    for pk, currency, rate_month, n, amount in rows:
        # A month truncated in SQL may come back as a moment (midnight): the month's day is the key.
        key = (pk, currency, rate_month.date() if isinstance(rate_month, dt.datetime) else rate_month)
        before_n, before_amount = groups.get(key, (0, ZERO))
        groups[key] = (before_n + n, before_amount + amount)
    return groups


PERSON_FIELD = {
    "won_amount": "owner",
    "won": "owner",
    "new_customers": "to_owner",
    "followups": "author",
    "tasks_on_time": "assignee",
    "tasks_late": "assignee",
    "claims": "to_owner",
    "fallbacks": "from_owner",
}


def performance(scope: ReportScope) -> Performance:
    start_at, end_at = scope.period.start_at, scope.period.end_at
    rows: dict[int, RepRow] = {}
    rates = rates_for(scope.tenant)
    note = ConvertedSum(rates.home)

    def row(pk: int) -> RepRow:
        return rows.setdefault(pk, RepRow(user=None))

    for (pk, currency, rate_month), (n, amount) in won_by_owner(scope, rates).items():
        row(pk).won += n
        row(pk).won_amount += converted(rates, note, amount, currency, rate_month, n)
    for metric in ("new_customers", "followups", "claims", "fallbacks"):
        person = PERSON_FIELD[metric]
        counted = metric_rows(scope, metric, start_at, end_at).order_by().values_list(f"{person}_id")
        for pk, n in counted.annotate(n=Count("pk")):
            setattr(row(pk), metric, n)
    tasks = (
        Task.objects.filter(
            tenant_id=scope.user.tenant_id, assignee__in=scope.people_ids(), done_at__gte=start_at, done_at__lt=end_at
        )
        .order_by()
        .values_list("assignee_id")
        .annotate(
            on_time=Count("pk", filter=Q(done_at__lte=F("due_at"))), late=Count("pk", filter=Q(done_at__gt=F("due_at")))
        )
    )
    for pk, on_time, late in tasks:
        row(pk).tasks_on_time, row(pk).tasks_late = on_time, late
    first_follow_up = (
        FollowUp.objects.filter(tenant_id=OuterRef("tenant_id"), lead_id=OuterRef("pk"))
        .order_by()
        .values("lead_id")
        .annotate(first=Min("happened_at"))
        .values("first")
    )
    responses = (
        Lead.objects.filter(
            tenant_id=scope.user.tenant_id,
            owner__in=scope.people_ids(),
            created_at__gte=start_at,
            created_at__lt=end_at,
        )
        .annotate(first=Subquery(first_follow_up))
        .filter(first__isnull=False)
        .order_by()
        .values_list("owner_id")
        .annotate(avg=Avg(F("first") - F("created_at")), n=Count("pk"))
    )
    for pk, avg, n in responses:
        if avg is not None:
            row(pk).response_hours = round(max(avg.total_seconds(), 0) / 3600, 1)
            row(pk).responded_leads = n
    # Every active rep in scope has a row; others (managers, admins, former reps) only where they have figures.
    shown = scope.people().filter(Q(pk__in=list(rows)) | Q(roles__contains=[Role.REP])).select_related("team")
    for user in shown:
        row(user.pk).user = user
    ranked = sorted(
        (r for r in rows.values() if r.user is not None),
        key=lambda r: (-r.won_amount, -r.won, r.user.full_name, r.user.pk),
    )
    return Performance(reps=ranked, conversion=note)


@dataclass
class TrendRow:
    month: dt.date
    won_amount: Decimal = ZERO
    won: int = 0
    followups: int = 0
    new_customers: int = 0


def rep_trend(scope: ReportScope, rep: User, *, months: int = 12, note: ConvertedSum | None = None) -> list[TrendRow]:
    """The last `months` months of one rep (the scope's user must see them): won amount and deals, follow-ups and new
    customers per tenant-local month. The conversion of the won amounts is recorded in `note` when given."""
    tenant = scope.tenant
    last = scope.period.end.replace(day=1)
    first = add_months(last, -(months - 1))
    start_at, end_at = local_midnight(tenant, first), local_midnight(tenant, add_months(last, 1))
    rows = {add_months(first, i): TrendRow(month=add_months(first, i)) for i in range(months)}
    tz = tenant.tzinfo
    rates = rates_for(tenant)
    note = note if note is not None else ConvertedSum(rates.home)
    won = (
        won_deals(scope, start_at, end_at)
        .filter(owner=rep)
        .annotate(month=TruncMonth("closed_at", tzinfo=tz), rate_month=rate_month_expression(tenant, rates))
        .order_by()
        .values_list("month", "currency", "rate_month")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    )
    for month, currency, rate_month, n, amount in won:
        rows[month.date()].won += n
        rows[month.date()].won_amount += converted(rates, note, amount, currency, rate_month, n)
    for metric, attr in (("followups", "happened_at"), ("new_customers", "at")):
        person = PERSON_FIELD[metric]
        qs = (
            metric_rows(scope, metric, start_at, end_at)
            .filter(**{f"{person}_id": rep.pk})
            .annotate(month=TruncMonth(attr, tzinfo=tz))
            .order_by()
            .values_list("month")
            .annotate(n=Count("pk"))
        )
        for month, n in qs:
            setattr(rows[month.date()], metric, n)
    return list(rows.values())
