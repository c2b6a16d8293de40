"""Demo data of the reports: a year of closed deals (sales.demo_history) and monthly targets for every demo rep and
sales team, from a year ago to two months ahead, so every dashboard has something to show. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from crm.models import ExchangeRate, Role, Team, User
from crm.workcalendar.selectors import local_today
from reports.models import SalesTarget
from reports.selectors.scope import add_months
from reports.services.funnel_facts import funnel_facts_rebuild
from sales.demo_history import seed_history


def seed_tenant(demo) -> None:
    seed_history(demo)
    seed_targets(demo)
    seed_exchange_rates(demo)
    # The demo's deals were written in bulk (sales, marketing): their funnel facts are rebuilt once at the end.
    funnel_facts_rebuild(tenant_id=demo.tenant.pk)


def seed_targets(demo) -> None:
    tenant = demo.tenant
    if SalesTarget.objects.filter(tenant=tenant).exists():
        return
    reps = list(User.objects.for_tenant(tenant).with_role(Role.REP).filter(is_active=True).order_by("email"))
    if not reps:
        return
    today = local_today(tenant)
    months = [add_months(today, offset) for offset in range(-11, 3)]
    base = Decimal("60000") if tenant.slug == "demo" else Decimal("20000")
    targets = []
    for index, rep in enumerate(reps):
        for number, month in enumerate(months):
            amount = base + Decimal(5000) * (index % 3) + Decimal(2000) * (number // 3)
            targets.append(
                SalesTarget(tenant=tenant, user=rep, month=month, amount=amount, new_customers=3 + index % 3)
            )
    sales_teams = Team.objects.filter(tenant=tenant, members__roles__contains=[Role.REP]).distinct().order_by("path")
    for team in sales_teams:
        members = [r for r in reps if r.team_id == team.pk]
        for number, month in enumerate(months):
            amount = (base + Decimal(2000) * (number // 3)) * max(len(members), 1)
            targets.append(SalesTarget(tenant=tenant, team=team, month=month, amount=amount))
    SalesTarget.objects.bulk_create(targets)


# A year of monthly rates to the yuan, so the funnel and campaign figures convert the demo's few foreign deals.
DEMO_RATES = {"USD": Decimal("7.15"), "EUR": Decimal("7.75"), "HKD": Decimal("0.915")}


def seed_exchange_rates(demo) -> None:
    tenant = demo.tenant
    if tenant.currency != "CNY" or ExchangeRate.objects.filter(tenant=tenant).exists():
        return
    today = local_today(tenant)
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(
                tenant=tenant,
                currency=code,
                month=add_months(today, offset),
                rate=(base + offset * base / 400).quantize(Decimal("0.000001")),
            )
            for code, base in DEMO_RATES.items()
            for offset in range(-11, 1)
        ]
    )
