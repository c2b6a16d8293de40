"""Leads from before lead pools (no pool, no ownership clock) join the default lead pool when one is made default,
and through the `lead_pool_adopt` command on existing installs; their clock starts at the adoption, so they do not
all fall back at the next run."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import AuditEvent
from sales.models import Lead, LeadStatus
from sales.selectors.lead_pool import lead_fallback_due
from sales.services.lead_pool import lead_pool_save

from .lead_pools import lead_pool

POOL_VALUES = {"warn_days_before": 3, "extension_days": 7, "reclaim_cooldown_days": 0, "no_followup_days": 10}


def _old_lead(world, name, *, owner=None, days_old=400, **fields):
    lead = Lead.objects.create(tenant=world.tenant, name=name, wechat=f"wx_{name}", owner=owner, **fields)
    Lead.objects.filter(pk=lead.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_old), pool=None, owned_since=None
    )
    return lead


@pytest.mark.django_db
def test_making_a_pool_default_adopts_old_leads_with_a_fresh_clock(world, world_b):
    held = _old_lead(world, "老线索甲", owner=world.rep1, last_followed_up_at=timezone.now() - dt.timedelta(days=300))
    waiting = _old_lead(world, "老线索乙")
    closed = _old_lead(world, "已作废", owner=world.rep1, status=LeadStatus.DISQUALIFIED, disqualified_reason="无效")
    since = timezone.now() - dt.timedelta(days=2)
    recent = _old_lead(world, "有时钟", owner=world.rep2)
    Lead.objects.filter(pk=recent.pk).update(owned_since=since)
    other = _old_lead(world_b, "别家的", owner=world_b.rep1)
    before = timezone.now()
    pool = lead_pool_save(
        acting_user=world.admin,
        pool=None,
        values={"name": "默认线索池", "is_default": True, **POOL_VALUES},
        teams=[world.sales],
        source_rules={},
    )
    rows = {x.pk: x for x in Lead.objects.filter(pk__in=[held.pk, waiting.pk, closed.pk, recent.pk, other.pk])}
    assert rows[held.pk].pool == pool and rows[held.pk].owned_since >= before
    assert rows[waiting.pk].pool == pool and rows[waiting.pk].owned_since is None
    assert rows[recent.pk].pool == pool and rows[recent.pk].owned_since == since
    assert rows[closed.pk].pool is None and rows[other.pk].pool is None
    # A year without follow-up, yet not due now: the clock started at the adoption.
    assert not lead_fallback_due(pool).exists()
    assert held in set(lead_fallback_due(pool, days_ahead=10))
    event = AuditEvent.objects.get(action="lead_pool.adopt")
    assert event.details == {"leads": 3}


@pytest.mark.django_db
def test_a_pool_that_is_not_default_adopts_nothing(world):
    old = _old_lead(world, "老线索", owner=world.rep1)
    lead_pool_save(
        acting_user=world.admin, pool=None, values={"name": "展会池", **POOL_VALUES}, teams=[], source_rules={}
    )
    assert Lead.objects.get(pk=old.pk).pool is None


@pytest.mark.django_db
def test_the_command_adopts_for_existing_installs_and_twice_is_harmless(world, world_b):
    pool = lead_pool(world, is_default=True)
    old = _old_lead(world, "老线索", owner=world.rep1)
    no_default = _old_lead(world_b, "无默认池", owner=world_b.rep1)
    out = StringIO()
    call_command("lead_pool_adopt", stdout=out)
    assert "1 leads joined" in out.getvalue()
    old.refresh_from_db()
    assert old.pool == pool and old.owned_since is not None
    first_clock = old.owned_since
    call_command("lead_pool_adopt", stdout=StringIO())
    old.refresh_from_db()
    assert old.owned_since == first_clock
    assert Lead.objects.get(pk=no_default.pk).pool is None
    assert AuditEvent.objects.filter(action="lead_pool.adopt").count() == 1
