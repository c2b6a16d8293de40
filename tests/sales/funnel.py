"""Builders for the funnel tests (leads, pipelines, opportunities), through the services so every row is as the app
writes it, and in one tenant."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from sales.models import Stage
from sales.services.lead import UNSET, lead_create, lead_set_status
from sales.services.opportunity import opportunity_create
from sales.services.pipeline import ensure_default_pipeline

from .helpers import make_customer


def make_lead(user, name="张伟", owner=UNSET, **data):
    if not (data.get("phone") or data.get("email") or data.get("wechat")):
        data["wechat"] = f"wx_{abs(hash(name)) % 10**8}"
    return lead_create(acting_user=user, data={"name": name, **data}, owner=owner)


def qualified_lead(user, name="张伟", owner=UNSET, **data):
    lead = make_lead(user, name, owner=owner, **data)
    return lead_set_status(acting_user=user, lead=lead, status="qualified")


def stages(tenant):
    """The default pipeline's stages in board order: open ones, then won, then lost."""
    pipeline = ensure_default_pipeline(tenant)
    return pipeline, list(Stage.objects.filter(pipeline=pipeline).ordered())


def make_opportunity(user, customer=None, *, amount="1000", name="年度合同", **extra):
    customer = customer or make_customer(user, f"{name}客户{abs(hash(name)) % 1000}有限公司")
    pipeline = extra.pop("pipeline", None) or ensure_default_pipeline(user.tenant)
    return opportunity_create(
        acting_user=user,
        customer=customer,
        name=name,
        pipeline=pipeline,
        amount=Decimal(amount),
        currency=user.tenant.currency,
        expected_close_date=timezone.localdate() + timedelta(days=30),
        **extra,
    )
