"""The webhook events of the records' services: each is a delivery row written in the event's own transaction (a
refused or rolled-back write leaves none) and queued once that transaction commits."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings

from crm.api import tasks
from crm.api.models import WebhookDelivery
from crm.api.services.webhook import WEBHOOK_EVENTS, webhook_endpoint_save
from customers.services.fallback import fallback_run
from customers.services.pool import customer_claim
from sales.services.conversion import lead_convert
from sales.services.opportunity import opportunity_move
from service.services.ticket import ticket_create, ticket_set_status

from ..customers.test_pool import owned, pool_for, pooled
from ..sales.funnel import make_opportunity, qualified_lead, stages

NEW_EVENTS = ["customer.claimed", "customer.fell_back", "lead.converted", "opportunity.won", "ticket.resolved"]


@pytest.fixture
def hooked(world_a):
    """An endpoint of tenant A for every new event; yields the queued (tenant, delivery) pairs."""
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        webhook_endpoint_save(acting_user=world_a.admin, url="http://127.0.0.1:9/hook", events=NEW_EVENTS)
    queued = []
    with mock.patch.object(
        tasks.deliver_webhook, "apply_async", side_effect=lambda args, **options: queued.append(tuple(args))
    ):
        yield queued


def deliveries(event):
    return list(WebhookDelivery.objects.filter(event=event).order_by("pk"))


def test_the_new_events_are_offered():
    assert set(NEW_EVENTS) <= set(WEBHOOK_EVENTS)


@pytest.mark.django_db
def test_customer_claimed(world_a, hooked, django_capture_on_commit_callbacks):
    pool_for(world_a)
    customer = pooled(world_a, "公海客户")[0]
    with django_capture_on_commit_callbacks(execute=True):
        customer_claim(rep=world_a.rep1, customer_id=customer.pk)
    [delivery] = deliveries("customer.claimed")
    assert delivery.payload["id"] == customer.pk and delivery.payload["owner"] == world_a.rep1.pk
    assert hooked == [(world_a.tenant.pk, delivery.pk)]


@pytest.mark.django_db
def test_customer_fell_back_once_per_customer(world_a, hooked, django_capture_on_commit_callbacks):
    pool = pool_for(world_a, no_followup_days=30)
    stale = [owned(world_a, world_a.rep1, f"过期{i}", owned_days_ago=60, followed_days_ago=40) for i in range(2)]
    owned(world_a, world_a.rep1, "保留", owned_days_ago=60, followed_days_ago=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert fallback_run(tenant=world_a.tenant) == 2
        assert fallback_run(tenant=world_a.tenant) == 0
    rows = deliveries("customer.fell_back")
    assert sorted(d.payload["id"] for d in rows) == sorted(c.pk for c in stale)
    assert {d.payload["former_owner"] for d in rows} == {world_a.rep1.pk} and rows[0].payload["pool"] == pool.pk
    assert len(hooked) == 2


@pytest.mark.django_db
def test_lead_converted(world_a, hooked, django_capture_on_commit_callbacks):
    lead = qualified_lead(world_a.rep1, "转化线索", company="转化科技有限公司", phone="13711112222")
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_convert(acting_user=world_a.rep1, lead=lead)
    [delivery] = deliveries("lead.converted")
    assert delivery.payload["id"] == lead.pk and delivery.payload["customer"] == lead.customer_id
    assert delivery.payload["new_customer"] is True and len(hooked) == 1


@pytest.mark.django_db
def test_opportunity_won_and_a_rolled_back_win_leaves_nothing(world_a, hooked, django_capture_on_commit_callbacks):
    opportunity = make_opportunity(world_a.rep1, amount="8800")
    _pipeline, ordered = stages(world_a.tenant)
    won = [s for s in ordered if s.kind == "won"][0]
    with pytest.raises(RuntimeError), transaction.atomic():
        opportunity_move(acting_user=world_a.rep1, opportunity=opportunity, stage=won)
        raise RuntimeError("the caller's transaction fails")
    assert deliveries("opportunity.won") == []
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_move(acting_user=world_a.rep1, opportunity=opportunity, stage=won)
    [delivery] = deliveries("opportunity.won")
    assert delivery.payload["id"] == opportunity.pk and Decimal(delivery.payload["amount"]) == Decimal("8800")
    assert delivery.payload["order"] is not None and len(hooked) == 1


@pytest.mark.django_db
def test_ticket_resolved(world_a, hooked, django_capture_on_commit_callbacks):
    customer = owned(world_a, world_a.rep1, "工单客户")
    ticket = ticket_create(tenant=world_a.tenant, acting_user=world_a.agent, customer=customer, subject="无法登录")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(acting_user=world_a.agent, ticket=ticket, status="pending")
        ticket_set_status(acting_user=world_a.agent, ticket=ticket, status="resolved")
    [delivery] = deliveries("ticket.resolved")
    assert delivery.payload["id"] == ticket.pk and delivery.payload["number"] == ticket.number
    assert len(hooked) == 1


@pytest.mark.django_db
def test_other_tenants_endpoints_hear_nothing(world_a, world_b, hooked, django_capture_on_commit_callbacks):
    pool_for(world_b)
    customer = pooled(world_b, "别家公海")[0]
    with django_capture_on_commit_callbacks(execute=True):
        customer_claim(rep=world_b.rep1, customer_id=customer.pk)
    assert WebhookDelivery.objects.count() == 0 and hooked == []
