"""The funnel facts: kept up to date by every stage move, rebuilt for rows written in bulk, and giving exactly the
figures the raw stage history gives, on varied data and for every viewer and filter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from crm.workcalendar.selectors import local_today
from reports.models import FunnelMonth, OpportunityFunnelFact
from reports.selectors.funnel import funnel, funnel_from_history
from reports.selectors.scope import ReportScope
from reports.services.funnel_facts import funnel_facts_rebuild
from sales.models import Opportunity, StageChange, StageKind
from sales.services.opportunity import opportunity_move, opportunity_update
from tests.sales.helpers import make_customer

from .builders import deal, stages
from .test_dashboards import scope_for

pytestmark = pytest.mark.django_db


def figures(result):
    """A funnel's figures, without the facts' freshness (the raw computation has none)."""
    values = dataclasses.asdict(result)
    values.pop("facts_as_of")
    values.pop("rebuilding_since")
    return values


def assert_same(scope):
    from_facts, from_history = funnel(scope), funnel_from_history(scope)
    assert figures(from_facts) == figures(from_history)
    return from_facts


def custom(user, days_back, days_to, **filters):
    """A period with ragged ends: whole months in the middle, days of a month at either end."""
    today = local_today(user.tenant)
    start, end = today - dt.timedelta(days=days_back), today - dt.timedelta(days=days_to)
    return ReportScope.of(user, preset="custom", start=start, end=end, **filters)


def scopes(w):
    return [
        custom(w.admin, 50, 3),
        custom(w.admin, 75, 0),
        custom(w.manager, 40, 20, team=w.team1),
        custom(w.rep1, 61, 1),
        scope_for(w.admin, "week"),
        scope_for(w.admin),
        scope_for(w.admin, "year"),
        scope_for(w.manager),
        scope_for(w.manager, team=w.team2),
        scope_for(w.manager, rep=w.rep1),
        scope_for(w.rep1),
        scope_for(w.rep2),
    ]


def varied_history(w, count=60, seed=7):
    """`count` opportunities of both reps written in bulk, as an import or the demo would: random walks through
    the open stages (forwards, backwards, skipping), some won, some lost with reasons, some in another currency,
    stays from minutes to weeks, created over the last two months."""
    rng = random.Random(seed)
    pipeline, open_stages, won, lost = stages(w.tenant)
    customer1, customer2 = make_customer(w.rep1, "随机客户一"), make_customer(w.rep2, "随机客户二")
    now = timezone.now()
    opportunities, walks = [], []
    for i in range(count):
        owner, customer = (w.rep1, customer1) if i % 3 else (w.rep2, customer2)
        created = now - dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        walk = [rng.choice(open_stages[:2])]
        for _step in range(rng.randint(0, 5)):
            walk.append(rng.choice(open_stages))
        end = rng.random()
        if end < 0.3:
            walk.append(won)
        elif end < 0.5:
            walk.append(lost)
        moments = [created]
        for _stage in walk[1:]:
            moments.append(moments[-1] + dt.timedelta(hours=rng.randint(1, 400), seconds=rng.randint(0, 3599)))
        final = walk[-1]
        opportunities.append(
            Opportunity(
                tenant_id=w.tenant.pk,
                name=f"随机商机{i}",
                customer=customer,
                pipeline=pipeline,
                stage=final,
                status=final.kind,
                owner=owner,
                amount=Decimal(rng.randint(1, 500) * 100),
                currency="USD" if i % 11 == 0 else w.tenant.currency,
                lost_reason=rng.choice(["价格太高", "选了竞品", "预算取消"]) if final.kind == StageKind.LOST else "",
                closed_at=moments[-1] if final.kind != StageKind.OPEN else None,
                created_at=created,
            )
        )
        walks.append(list(zip(walk, moments, strict=True)))
    Opportunity.objects.bulk_create(opportunities)
    changes = []
    for opportunity, walk in zip(opportunities, walks, strict=True):
        previous = None
        for stage, at in walk:
            changes.append(
                StageChange(
                    tenant_id=w.tenant.pk,
                    opportunity=opportunity,
                    pipeline=pipeline,
                    from_stage=previous,
                    to_stage=stage,
                    at=at,
                    amount=opportunity.amount,
                    currency=opportunity.currency,
                )
            )
            previous = stage
    StageChange.objects.bulk_create(changes)


def test_the_funnel_from_the_facts_equals_the_raw_history_on_varied_data(world):
    varied_history(world)
    assert funnel_facts_rebuild(tenant_id=world.tenant.pk) == 60
    for scope in scopes(world):
        assert_same(scope)
    year = assert_same(scope_for(world.admin, "year"))
    assert year.cohort == 60 and year.won and year.lost and year.other_currencies
    assert any(row.avg_days for row in year.stages) and year.lost_reasons and year.avg_cycle_days is not None


def test_stage_moves_keep_the_facts_current_without_a_rebuild(world):
    _pipeline, open_stages, won, lost = stages(world.tenant)
    deal(world.rep1, "来回移动", amount="1500", path=[open_stages[2], open_stages[0], open_stages[1]])
    deal(world.rep1, "丢单", amount="2500", path=[open_stages[1], lost], lost_reason="价格太高")
    third = deal(world.rep2, "赢单", amount="3500", path=[open_stages[0]])
    before = funnel(scope_for(world.admin))
    assert OpportunityFunnelFact.objects.count() == 3
    opportunity_move(acting_user=world.rep2, opportunity=third, stage=won)
    after = assert_same(scope_for(world.admin))
    assert (before.won, after.won) == (0, 1)
    assert after.won_amount == Decimal("3500") and after.facts_as_of >= before.facts_as_of
    for scope in scopes(world):
        assert_same(scope)


def test_a_changed_amount_or_owner_reaches_the_facts(world):
    opportunity = deal(world.rep1, "改金额", amount="1000")
    opportunity_update(
        acting_user=world.manager,
        opportunity=opportunity,
        name=opportunity.name,
        amount=Decimal("8800"),
        currency=opportunity.currency,
        expected_close_date=opportunity.expected_close_date,
        probability=None,
        contact=None,
        owner=world.rep2,
        notes="",
    )
    fact = OpportunityFunnelFact.objects.get(opportunity=opportunity)
    assert (fact.amount, fact.owner_id) == (Decimal("8800.00"), world.rep2.pk)
    assert funnel(scope_for(world.rep1)).cohort == 0
    assert assert_same(scope_for(world.rep2)).stages[0].amount == Decimal("8800.00")


def test_the_rebuild_is_safe_twice_and_the_command_catches_up_bulk_rows(world, capsys):
    varied_history(world, count=20, seed=3)
    assert OpportunityFunnelFact.objects.count() == 0
    call_command("rebuild_funnel_facts", "--tenant", world.tenant.slug)
    first = list(OpportunityFunnelFact.objects.order_by("pk").values("opportunity", "stage_ids", "stay_seconds"))
    call_command("rebuild_funnel_facts", "--tenant", world.tenant.slug)
    again = list(OpportunityFunnelFact.objects.order_by("pk").values("opportunity", "stage_ids", "stay_seconds"))
    assert first == again and len(first) == 20
    assert "20 opportunities" in capsys.readouterr().out
    assert_same(scope_for(world.admin, "year"))


def test_a_deleted_opportunity_leaves_no_fact_and_its_month_forgets_it(world):
    deal(world.rep1, "留下", amount="2000")
    opportunity = deal(world.rep1, "将删除", amount="1000")
    assert funnel(scope_for(world.admin)).cohort == 2
    Opportunity.objects.filter(pk=opportunity.pk).delete()
    assert OpportunityFunnelFact.objects.count() == 1
    assert FunnelMonth.objects.get().n == 1
    assert assert_same(scope_for(world.admin)).cohort == 1


def test_the_funnel_page_says_how_fresh_its_facts_are(world, client_for):
    deal(world.rep1, "新鲜度", amount="1000")
    page = client_for(world.manager).get(reverse("reports:funnel")).content.decode()
    assert 'data-testid="facts-freshness"' in page and "Kept up to date with every stage move" in page
