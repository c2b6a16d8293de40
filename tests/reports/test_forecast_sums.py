"""The forecast's monthly sums: kept right by every kind of write to an opportunity (create, stage move, amount,
currency, close date, probability or owner change, delete, bulk write), giving exactly the figures computed live from
the opportunities (the forecast, the home widget's month, team performance's won deals), for every viewer, filter and company; the page says
how fresh they are."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm.models import ExchangeRate
from crm.selectors.exchange_rate import rates_for
from crm.workcalendar.selectors import local_today
from reports.models import ForecastMonth
from reports.selectors.forecast import forecast, forecast_live, month_summary, month_summary_live
from reports.selectors.performance import won_by_owner
from reports.selectors.scope import ReportScope
from reports.services.funnel_facts import _rebuild_key, funnel_facts_rebuild, funnel_facts_rebuild_marked
from sales.models import Opportunity, StageKind
from sales.services.opportunity import opportunity_move, opportunity_update
from tests.reports.builders import deal, stages
from tests.reports.test_dashboards import scope_for
from tests.sales.helpers import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_pending_rebuild(world, world_b):
    for tenant in (world.tenant, world_b.tenant):
        cache.delete(_rebuild_key(tenant.pk))


def figures(result):
    """A forecast's figures, without the sums' freshness (the live computation has none)."""
    values = dataclasses.asdict(result)
    values.pop("facts_as_of")
    values.pop("rebuilding_since")
    return values


def assert_same(scope):
    from_sums, live = forecast(scope), forecast_live(scope)
    assert figures(from_sums) == figures(live)
    return from_sums


def custom(user, months_back, months_on, **filters):
    today = local_today(user.tenant)
    start = (today.replace(day=1) - dt.timedelta(days=28 * months_back)).replace(day=1)
    end = today + dt.timedelta(days=31 * months_on)
    return ReportScope.of(user, preset="custom", start=start, end=end, **filters)


def scopes(w):
    pipeline = stages(w.tenant)[0]
    return [
        scope_for(w.admin, "week"),
        scope_for(w.admin, "month"),
        scope_for(w.admin),
        scope_for(w.admin, "year"),
        scope_for(w.admin, "last_12"),
        custom(w.admin, 3, 4),
        custom(w.admin, 1, 2, pipeline=pipeline),
        scope_for(w.manager),
        scope_for(w.manager, "year", team=w.team2),
        custom(w.manager, 2, 3, rep=w.rep1),
        scope_for(w.rep1, "year"),
        custom(w.rep2, 2, 3),
    ]


def assert_all_same(w):
    for scope in scopes(w):
        assert_same(scope)
        # Team performance's won deals per person: the period's whole months from the same sums.
        rates = rates_for(scope.tenant)
        assert won_by_owner(scope, rates) == won_by_owner(scope, rates, live=True)
    # The home widget's month, from the same sums.
    for user in (w.admin, w.manager, w.rep1, w.rep2):
        scope = scope_for(user, "month")
        assert month_summary(scope) == month_summary_live(scope)


def varied_deals(w, count=80, seed=11):
    """`count` opportunities of both reps written in bulk (as an import would) and caught up by the rebuild: open in
    every stage with and without a probability set by hand, expected to close over the months around today or with
    no date, won and lost over the last year, some in dollars (which have a rate) or euros (which have none)."""
    rng = random.Random(seed)
    pipeline, open_stages, won, lost = stages(w.tenant)
    customers = {w.rep1: make_customer(w.rep1, "预测客户一"), w.rep2: make_customer(w.rep2, "预测客户二")}
    today = timezone.localdate()
    now = timezone.now()
    rows = []
    for i in range(count):
        owner = w.rep1 if i % 3 else w.rep2
        final = rng.choice([*open_stages, *open_stages, won, lost])
        created = now - dt.timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1440))
        closed = None if final.kind == StageKind.OPEN else created + dt.timedelta(days=rng.randint(0, 60))
        rows.append(
            Opportunity(
                tenant_id=w.tenant.pk,
                name=f"预测商机{i}",
                customer=customers[owner],
                pipeline=pipeline,
                stage=final,
                status=final.kind,
                owner=owner,
                amount=Decimal(rng.randint(1, 9999)) + Decimal(rng.randint(0, 99)) / 100,
                currency=rng.choice([w.tenant.currency] * 4 + ["USD", "EUR"]),
                expected_close_date=None if i % 9 == 0 else today + dt.timedelta(days=rng.randint(-120, 200)),
                probability_override=rng.choice([None, None, 5, 33, 70, 85]) if final.kind == StageKind.OPEN else None,
                lost_reason="预算取消" if final.kind == StageKind.LOST else "",
                closed_at=min(closed, now) if closed else None,
                created_at=created,
            )
        )
    Opportunity.objects.bulk_create(rows)
    ExchangeRate.objects.create(tenant=w.tenant, currency="USD", month=dt.date(2000, 1, 1), rate=Decimal("7.1"))
    ExchangeRate.objects.create(
        tenant=w.tenant, currency="USD", month=(today - dt.timedelta(days=90)).replace(day=1), rate=Decimal("7.3")
    )
    return rows


def test_the_sums_equal_the_live_forecast_on_varied_data(world, world_b):
    varied_deals(world)
    varied_deals(world_b, count=20, seed=5)
    for tenant in (world.tenant, world_b.tenant):
        funnel_facts_rebuild(tenant_id=tenant.pk)
    assert_all_same(world)
    assert_all_same(world_b)
    year = assert_same(scope_for(world.admin, "year"))
    total = year.total()
    assert total.open_count and total.won_count and total.weighted and total.commit
    assert year.undated_count and year.conversion.missing and year.conversion.rates
    assert assert_same(scope_for(world.admin)).overdue_count
    # Each company's sums count its own deals only.
    assert not ForecastMonth.objects.filter(tenant=world_b.tenant, owner__tenant=world.tenant).exists()
    assert assert_same(scope_for(world_b.admin, "year")).total().open_count < total.open_count


def test_every_kind_of_write_keeps_the_sums_right_without_a_rebuild(world):
    _pipeline, open_stages, won, lost = stages(world.tenant)
    first = deal(world.rep1, "新建", amount="1000", close_in_days=3)  # create
    second = deal(world.rep1, "推进", amount="2000", path=[open_stages[1]], close_in_days=40)
    third = deal(world.rep2, "二组", amount="3000", close_in_days=0)
    assert_all_same(world)
    opportunity_move(acting_user=world.rep1, opportunity=second, stage=open_stages[3])  # stage move
    assert_all_same(world)
    opportunity_move(acting_user=world.rep1, opportunity=first, stage=won)  # won
    assert_all_same(world)
    opportunity_move(acting_user=world.rep2, opportunity=third, stage=lost, lost_reason="价格太高")  # lost
    assert_all_same(world)
    second.refresh_from_db()
    opportunity_update(  # amount, currency, close date and probability
        acting_user=world.rep1,
        opportunity=second,
        name=second.name,
        amount=Decimal("2500.55"),
        currency="USD",
        expected_close_date=second.expected_close_date + dt.timedelta(days=45),
        probability=90,
        contact=None,
        owner=world.rep1,
        notes="",
    )
    assert_all_same(world)
    assert forecast(custom(world.rep1, 0, 6)).conversion.missing == 1  # dollars without a rate
    ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=dt.date(2000, 1, 1), rate=Decimal("7"))
    assert_all_same(world)  # a rate added later needs no rewrite
    second.refresh_from_db()
    opportunity_update(  # owner change, and no expected close date any more
        acting_user=world.manager,
        opportunity=second,
        name=second.name,
        amount=second.amount,
        currency=second.currency,
        expected_close_date=None,
        probability=None,
        contact=None,
        owner=world.rep2,
        notes="",
    )
    assert_all_same(world)
    assert forecast(scope_for(world.rep2, "year")).undated_count == 1
    open_stages[3].probability = 15  # the stage's probability is read when the forecast is computed
    open_stages[3].save(update_fields=["probability"])
    assert_all_same(world)
    Opportunity.objects.filter(pk=second.pk).delete()  # delete
    assert_all_same(world)
    assert forecast(scope_for(world.rep2, "year")).undated_count == 0


def test_announced_bulk_writes_reach_the_sums(world, world_b):
    mine = [deal(world.rep1, f"批量{i}", amount="1000", close_in_days=i * 20) for i in range(3)]
    theirs = deal(world_b.rep1, "别家", amount="1000")
    assert_all_same(world)
    Opportunity.objects.filter(pk__in=[o.pk for o in mine] + [theirs.pk]).update_announced(
        amount=Decimal("4321.09"), expected_close_date=timezone.localdate() + dt.timedelta(days=70)
    )
    Opportunity.objects.filter(pk=mine[0].pk).update_announced(owner=world.rep2, probability_override=80)
    assert_all_same(world)
    assert_all_same(world_b)
    assert assert_same(custom(world_b.admin, 0, 6)).total().unweighted == Decimal("4321.09")


def test_the_forecast_page_says_how_fresh_its_sums_are(world, client_for):
    deal(world.rep1, "新鲜度", amount="1000", close_in_days=0)
    page = client_for(world.manager).get(reverse("reports:forecast"), {"period": "year"}).content.decode()
    assert 'data-testid="forecast-freshness"' in page and "Kept up to date with every change to a deal" in page
    assert 'data-testid="forecast-rebuilding"' not in page
    funnel_facts_rebuild_marked(tenant_id=world.tenant.pk)
    page = client_for(world.manager).get(reverse("reports:forecast"), {"period": "year"}).content.decode()
    assert 'data-testid="forecast-rebuilding"' in page
    funnel_facts_rebuild(tenant_id=world.tenant.pk)
    page = client_for(world.manager).get(reverse("reports:forecast"), {"period": "year"}).content.decode()
    assert 'data-testid="forecast-rebuilding"' not in page


def test_the_rebuild_writes_the_same_sums_twice(world):
    varied_deals(world, count=30, seed=2)
    funnel_facts_rebuild(tenant_id=world.tenant.pk)
    fields = ("pipeline_id", "owner_id", "month", "status", "stage_id", "probability_override", "currency")
    first = sorted(ForecastMonth.objects.values_list(*fields, "rate_month", "n", "amount"), key=str)
    funnel_facts_rebuild(tenant_id=world.tenant.pk)
    assert sorted(ForecastMonth.objects.values_list(*fields, "rate_month", "n", "amount"), key=str) == first
    assert_all_same(world)
