"""A year of closed deals for the demo (called by reports.demo, whose dashboards need history): each month of the
past twelve, every demo rep wins a few opportunities (with their orders, the customers' last deal moved through
customers.services.customer.record_deal) and loses some with a reason, each with a stage history of plausible
moves. Bulk and idempotent: rows are marked by their notes and a second run adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from crm.models import Role, User
from customers.models import Customer

from .demo_funnel import LOST_REASONS, PRODUCTS, funnel_rows_save
from .models import Opportunity, Order, Pipeline, Stage, StageKind

MARK = "演示历史数据"


def seed_history(demo) -> None:
    tenant = demo.tenant
    if Opportunity.objects.filter(tenant=tenant, notes=MARK).exists():
        return
    reps = list(User.objects.for_tenant(tenant).with_role(Role.REP).filter(is_active=True).order_by("email"))
    pipeline = Pipeline.objects.filter(tenant=tenant).order_by("position", "pk").first()
    if not reps or pipeline is None:
        return
    stages = list(Stage.objects.filter(pipeline=pipeline).ordered())
    open_stages = [s for s in stages if s.kind == StageKind.OPEN and s.is_active]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    customers: dict[int, list[Customer]] = {}
    for customer in Customer.objects.filter(tenant=tenant, owner__in=reps, deleted_at__isnull=True).order_by("pk"):
        customers.setdefault(customer.owner_id, []).append(customer)
    rng = random.Random(f"history-{tenant.slug}")
    now = timezone.now()
    per_month = 3 if tenant.slug == "demo" else 1
    opportunities, histories, lines_by, orders = [], [], [], []
    for months_back in range(12, 0, -1):
        for rep_index, rep in enumerate(reps):
            held = customers.get(rep.pk)
            if not held:
                continue
            # Some reps have better months than others, and the year grows towards its end.
            count = per_month + (rep_index + months_back) % 3 + (1 if months_back < 4 else 0)
            for i in range(count):
                customer = held[(months_back * 7 + i) % len(held)]
                is_won = rng.random() < 0.55
                target = won if is_won else lost
                reached = open_stages if is_won else open_stages[: rng.randint(1, len(open_stages))]
                created = now - timedelta(days=30 * months_back + rng.randint(10, 40), hours=rng.randint(0, 10))
                moments, at = [], created
                for _stage in [*reached, target]:
                    moments.append(at)
                    at = at + timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 8))
                closed = min(moments[-1], now - timedelta(days=1))
                chosen = rng.sample(PRODUCTS, k=rng.randint(1, 2))
                lines = [(name, Decimal(rng.randint(1, 5)), price) for name, price in chosen]
                amount = sum((q * p for _n, q, p in lines), Decimal("0"))
                opportunity = Opportunity(
                    tenant=tenant,
                    name=f"{chosen[0][0]} · {customer.name[:20]}",
                    customer=customer,
                    pipeline=pipeline,
                    stage=target,
                    status=target.kind,
                    owner=rep,
                    amount=amount,
                    currency=tenant.currency,
                    lost_reason=rng.choice(LOST_REASONS) if not is_won else "",
                    stage_entered_at=closed,
                    closed_at=closed,
                    created_at=created,
                    created_by=rep,
                    notes=MARK,
                )
                history, previous = [], None
                for stage, moment in zip([*reached, target], [*moments[:-1], closed], strict=True):
                    history.append((previous, stage, min(moment, closed)))
                    previous = stage
                opportunities.append(opportunity)
                histories.append(history)
                lines_by.append(lines)
                if is_won:
                    order = Order(
                        tenant=tenant,
                        customer=customer,
                        ordered_on=timezone.localtime(closed, tenant.tzinfo).date(),
                        amount=amount,
                        currency=tenant.currency,
                        notes=f"Won opportunity “{opportunity.name}”",
                        created_by=rep,
                        created_at=closed,
                    )
                    orders.append((opportunity, order, lines))
    funnel_rows_save(
        tenant=tenant, orders=orders, opportunities=opportunities, lines_by=lines_by, histories=histories, now=now
    )
