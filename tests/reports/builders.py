"""Builders for the reports tests: opportunities moved through the sales services (so their stage history is as the
app writes it), and bulk rows for the query-count tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from reports.services.funnel_facts import funnel_facts_rebuild
from sales.models import Opportunity, Stage, StageChange, StageKind
from sales.services.opportunity import opportunity_create, opportunity_move
from sales.services.pipeline import ensure_default_pipeline
from tests.sales.helpers import make_customer


def stages(tenant):
    """(pipeline, open stages in order, won stage, lost stage)."""
    pipeline = ensure_default_pipeline(tenant)
    ordered = list(Stage.objects.filter(pipeline=pipeline).ordered())
    open_stages = [s for s in ordered if s.kind == StageKind.OPEN]
    won = next(s for s in ordered if s.kind == StageKind.WON)
    lost = next(s for s in ordered if s.kind == StageKind.LOST)
    return pipeline, open_stages, won, lost


def deal(user, name, *, amount="10000", path=(), lost_reason="", close_in_days=20, probability=None):
    """An opportunity of `user` moved through the stages in `path` (Stage objects), in the tenant's currency."""
    customer = make_customer(user, f"{name}有限公司")
    pipeline = ensure_default_pipeline(user.tenant)
    opportunity = opportunity_create(
        acting_user=user,
        customer=customer,
        name=name,
        pipeline=pipeline,
        amount=Decimal(amount),
        currency=user.tenant.currency,
        expected_close_date=timezone.localdate() + dt.timedelta(days=close_in_days),
        probability=probability,
    )
    for stage in path:
        opportunity = opportunity_move(
            acting_user=user,
            opportunity=opportunity,
            stage=stage,
            lost_reason=lost_reason if stage.kind == StageKind.LOST else "",
        )
    return opportunity


def bulk_deals(user, customer, count: int, *, now=None) -> None:
    """`count` opportunities of `user` on one customer, each with a two-row stage history, half of them won."""
    now = now or timezone.now()
    pipeline, open_stages, won, _lost = stages(user.tenant)
    opportunities = []
    for i in range(count):
        is_won = i % 2 == 0
        opportunities.append(
            Opportunity(
                tenant_id=user.tenant_id,
                name=f"批量商机{i}",
                customer=customer,
                pipeline=pipeline,
                stage=won if is_won else open_stages[1],
                status=StageKind.WON if is_won else StageKind.OPEN,
                owner=user,
                amount=Decimal(1000 + i),
                currency=user.tenant.currency,
                expected_close_date=timezone.localdate() + dt.timedelta(days=i % 20),
                closed_at=now if is_won else None,
                created_at=now - dt.timedelta(hours=i % 48 + 1),
            )
        )
    Opportunity.objects.bulk_create(opportunities)
    changes = []
    for o in opportunities:
        changes.append(
            StageChange(
                tenant_id=user.tenant_id,
                opportunity=o,
                pipeline=pipeline,
                to_stage=open_stages[0],
                at=o.created_at,
                amount=o.amount,
                currency=o.currency,
            )
        )
        changes.append(
            StageChange(
                tenant_id=user.tenant_id,
                opportunity=o,
                pipeline=pipeline,
                from_stage=open_stages[0],
                to_stage=o.stage,
                at=o.created_at + dt.timedelta(minutes=30),
                amount=o.amount,
                currency=o.currency,
            )
        )
    StageChange.objects.bulk_create(changes)
    # Rows written in bulk skip the signals: their funnel facts are caught up as the rebuild command would.
    funnel_facts_rebuild(tenant_id=user.tenant_id)
