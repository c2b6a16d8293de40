"""Builders of the marketing campaign tests: campaigns, and leads converted into customers with won deals, through
the services so every row is as the app writes it."""

from __future__ import annotations

from decimal import Decimal

from marketing.models import MarketingCampaign
from sales.models import Stage
from sales.services.conversion import OpportunityDraft, lead_convert
from sales.services.lead import lead_create, lead_set_status
from sales.services.opportunity import opportunity_move
from sales.services.pipeline import ensure_default_pipeline


def make_campaign(world, code="expo-2026", **fields) -> MarketingCampaign:
    values = {
        "name": "2026 上海工业博览会",
        "kind": MarketingCampaign.Kind.EVENT,
        "status": MarketingCampaign.Status.ACTIVE,
        "budget": Decimal("50000"),
        "actual_cost": Decimal("40000"),
        "currency": world.tenant.currency,
        "owner": world.manager,
        **fields,
    }
    return MarketingCampaign.objects.create(tenant=world.tenant, code=code, **values)


def campaign_lead(user, name, code, *, owner=None, **data):
    data.setdefault("wechat", f"wx_{abs(hash((name, code))) % 10**8}")
    return lead_create(acting_user=user, data={"name": name, "campaign": code, **data}, owner=owner or user)


def won_deal(user, lead, amount: str, *, won=True):
    """Convert `lead` into a new customer with an opportunity of `amount`, then win it (or leave it open)."""
    lead = lead_set_status(acting_user=user, lead=lead, status="qualified")
    pipeline = ensure_default_pipeline(user.tenant)
    lead = lead_convert(
        acting_user=user,
        lead=lead,
        customer_name=f"{lead.name}的公司",
        opportunity=OpportunityDraft(
            name=f"{lead.name}的订单", pipeline=pipeline, amount=Decimal(amount), currency=user.tenant.currency
        ),
    )
    if won:
        stage = Stage.objects.get(pipeline=pipeline, kind="won")
        opportunity_move(acting_user=user, opportunity=lead.opportunity, stage=stage)
    return lead
