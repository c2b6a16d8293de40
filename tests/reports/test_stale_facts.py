"""The funnel facts stay right when opportunities or their stage history are written around post_save (a bulk
update, stage changes created in bulk: announced through `sales.signals`), and a change of the company's time zone
rebuilds every fact as a job, the funnel page saying so while it runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm.models import OutboxTask
from crm.services.tenant import tenant_update
from reports import tasks
from reports.models import OpportunityFunnelFact
from reports.selectors.funnel import funnel
from reports.services.funnel_facts import _rebuild_key, funnel_facts_rebuilding_since
from sales.models import Opportunity, StageChange
from sales.signals import opportunities_written_announce
from tests.reports.builders import deal, stages
from tests.reports.test_dashboards import scope_for
from tests.reports.test_funnel_facts import assert_same

pytestmark = pytest.mark.django_db

# 20:00 UTC on 31 October: already 1 November in Shanghai, still 31 October in Los Angeles.
MONTH_EDGE = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def no_pending_rebuild(world, world_b):
    for tenant in (world.tenant, world_b.tenant):
        cache.delete(_rebuild_key(tenant.pk))


def fact_of(opportunity) -> OpportunityFunnelFact:
    return OpportunityFunnelFact.objects.get(opportunity_id=opportunity.pk)


def test_a_plain_bulk_update_is_not_seen_but_an_announced_one_is(world):
    o = deal(world.rep1, "批量改价", amount="1000")
    Opportunity.objects.filter(pk=o.pk).update(amount=Decimal("1500"))
    assert fact_of(o).amount == Decimal("1000.00")  # what the signals miss
    changed = Opportunity.objects.filter(pk=o.pk).update_announced(amount=Decimal("2500"), currency="USD")
    assert changed == 1
    assert (fact_of(o).amount, fact_of(o).currency) == (Decimal("2500.00"), "USD")
    assert_same(scope_for(world.admin, "year"))


def test_an_announced_update_touches_only_its_own_tenants_facts(world, world_b):
    mine, theirs = deal(world.rep1, "本公司", amount="1000"), deal(world_b.rep1, "别家", amount="1000")
    Opportunity.objects.filter(pk__in=[mine.pk, theirs.pk]).update_announced(amount=Decimal("3000"))
    assert fact_of(mine).amount == fact_of(theirs).amount == Decimal("3000.00")
    assert fact_of(theirs).tenant_id == world_b.tenant.pk


def test_stage_changes_written_in_bulk_reach_the_facts_once_announced(world):
    _pipeline, open_stages, _won, _lost = stages(world.tenant)
    o = deal(world.rep1, "批量推进")
    StageChange.objects.bulk_create(
        [
            StageChange(
                tenant_id=world.tenant.pk,
                opportunity=o,
                pipeline_id=o.pipeline_id,
                from_stage_id=o.stage_id,
                to_stage=open_stages[2],
                at=timezone.now(),
                amount=o.amount,
                currency=o.currency,
            )
        ]
    )
    assert open_stages[2].pk not in fact_of(o).stage_ids
    opportunities_written_announce(tenant_id=world.tenant.pk, opportunity_ids=[o.pk])
    assert open_stages[2].pk in fact_of(o).stage_ids
    assert_same(scope_for(world.admin, "year"))


def test_a_new_time_zone_rebuilds_every_fact_as_a_job(world, client_for, django_capture_on_commit_callbacks):
    o = deal(world.rep1, "月末商机")
    Opportunity.objects.filter(pk=o.pk).update_announced(created_at=MONTH_EDGE)
    assert fact_of(o).cohort_month == dt.date(2026, 11, 1)
    with django_capture_on_commit_callbacks() as callbacks:
        tenant_update(acting_user=world.admin, tenant=world.tenant, timezone="America/Los_Angeles")
    queued = OutboxTask.objects.filter(task=tasks.rebuild_tenant_funnel_facts.name)
    assert [row.args for row in queued] == [[world.tenant.pk]]
    for callback in callbacks[1:]:  # the first relays the task to the broker; the job is run by hand below
        callback()
    assert funnel_facts_rebuilding_since(tenant_id=world.tenant.pk) is not None
    assert funnel(scope_for(world.admin)).rebuilding_since is not None
    page = client_for(world.admin).get(reverse("reports:funnel")).content.decode()
    assert 'data-testid="facts-rebuilding"' in page
    # The other company's page says nothing.
    assert funnel_facts_rebuilding_since(tenant_id=world.tenant.pk + 10_000) is None

    assert tasks.rebuild_tenant_funnel_facts(world.tenant.pk) == 1
    assert fact_of(o).cohort_month == dt.date(2026, 10, 1)
    assert funnel_facts_rebuilding_since(tenant_id=world.tenant.pk) is None
    page = client_for(world.admin).get(reverse("reports:funnel")).content.decode()
    assert 'data-testid="facts-rebuilding"' not in page
    # Run twice: the same rows.
    before = list(OpportunityFunnelFact.objects.values_list("opportunity_id", "cohort_month", "rate_month"))
    assert tasks.rebuild_tenant_funnel_facts(world.tenant.pk) == 1
    assert list(OpportunityFunnelFact.objects.values_list("opportunity_id", "cohort_month", "rate_month")) == before


def test_other_settings_changes_queue_no_rebuild(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        tenant_update(acting_user=world.admin, tenant=world.tenant, name="新名字", timezone=world.tenant.timezone)
    assert not OutboxTask.objects.filter(task=tasks.rebuild_tenant_funnel_facts.name).exists()
