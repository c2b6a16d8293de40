"""Demo data of the reports: a year of closed deals (sales.demo_history) and monthly targets for every demo rep and
sales team, from a year ago to two months ahead, so every dashboard has something to show. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from crm.models import Role, Team, User
from crm.workcalendar.selectors import local_today
from reports.models import SalesTarget
from reports.selectors.scope import add_months
from reports.services.funnel_facts import funnel_facts_rebuild
from sales.demo_history import seed_history


def seed_tenant(demo) -> None:
    seed_history(demo)
    seed_targets(demo)
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
