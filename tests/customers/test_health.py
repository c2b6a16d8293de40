"""Pool health (issue 7): waiting time per pool, claims and fallbacks per rep over a period, claim-to-deal rate and
hoarding; every figure equals the number of rows behind its link; managers see their teams only; a fixed number of
queries whatever the size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Role
from crm.workcalendar.selectors import local_today
from customers.models import Customer, OwnershipEvent, Pool, PoolTeam
from customers.selectors.health import Period, pool_health, pools_waiting
from customers.services.customer import customer_create, record_deal
from customers.services.fallback import fallback_run
from customers.services.pool import customer_claim
from customers.services.tenant import default_pool

from ..factories import TeamFactory, UserFactory
from .test_pool import owned, pool_for


def waiting(world, name, days, pool=None):
    customer = customer_create(
        acting_user=world.admin,
        data={"name": name},
        owner=None,
        to_pool=pool or default_pool(world.tenant),
    )
    at = timezone.now() - dt.timedelta(days=days)
    OwnershipEvent.objects.filter(customer=customer).update(at=at)
    Customer.objects.filter(pk=customer.pk).update(pooled_at=at)
    return customer


def claimed(world, rep, name, *, days_ago=1, deal_after=None):
    (customer,) = [waiting(world, name, 60)]
    customer_claim(rep=rep, customer_id=customer.pk)
    at = timezone.now() - dt.timedelta(days=days_ago)
    OwnershipEvent.objects.filter(customer=customer, reason="claim").update(at=at)
    if deal_after is not None:
        record_deal(customer_id=customer.pk, at=at + dt.timedelta(days=deal_after), tenant_id=world.tenant.pk)
    return customer


@pytest.fixture
def north(world_a):
    """A second root team outside the sales manager's tree, with its own manager, rep and pool."""
    default_pool(world_a.tenant)  # made first: the default pool opens to the root teams existing then
    team = TeamFactory(tenant=world_a.tenant, name="华北部")
    boss = UserFactory(tenant=world_a.tenant, team=team, roles=[Role.MANAGER], full_name="华北经理")
    team.manager = boss
    team.save(update_fields=["manager"])
    rep = UserFactory(tenant=world_a.tenant, team=team, roles=[Role.REP], full_name="华北销售")
    pool = Pool.objects.create(tenant=world_a.tenant, name="华北公海")
    PoolTeam.objects.create(tenant=world_a.tenant, pool=pool, team=team)
    return team, boss, rep, pool


def drill_count(client, **params) -> int:
    response = client.get(reverse("pool:health_customers"), params)
    assert response.status_code == 200, response.content.decode()[:1000]
    return response.context["page"].paginator.count


@pytest.mark.django_db
def test_waiting_buckets_and_the_customers_behind_them(world_a, client_for, north):
    pool = pool_for(world_a)
    for days, n in ((2, 3), (10, 2), (45, 1), (120, 4)):
        for i in range(n):
            waiting(world_a, f"等了{days}天{i}", days)
    waiting(world_a, "华北等待", 5, pool=north[3])
    rows = {r.pool: r for r in pools_waiting(world_a.manager, timezone.now())}
    assert set(rows) == {pool}  # the north pool is not the sales manager's
    assert rows[pool].total == 10
    assert rows[pool].buckets == {"lt7": 3, "7to30": 2, "30to90": 1, "gt90": 4}
    c = client_for(world_a.manager)
    for key, expected in rows[pool].buckets.items():
        assert drill_count(c, metric="waiting", pool=pool.pk, bucket=key) == expected
    page = c.get(reverse("pool:health"))
    assert page.status_code == 200
    assert f'href="/pool/health/customers/?metric=waiting&amp;pool={pool.pk}&amp;bucket=gt90"' in page.content.decode()
    # The admin sees both pools.
    assert {r.pool for r in pools_waiting(world_a.admin, timezone.now())} == {pool, north[3]}


@pytest.mark.django_db
def test_claims_fallbacks_and_claim_to_deal_per_rep(world_a, client_for, django_capture_on_commit_callbacks):
    pool_for(world_a, no_followup_days=30)
    claimed(world_a, world_a.rep1, "成交了", days_ago=3, deal_after=1)
    claimed(world_a, world_a.rep1, "没成交", days_ago=3)
    early = claimed(world_a, world_a.rep1, "领取前成交", days_ago=5)
    record_deal(
        customer_id=early.pk, at=timezone.now() - dt.timedelta(days=10), tenant_id=world_a.tenant.pk
    )  # a deal before the claim does not count
    claimed(world_a, world_a.rep2, "二号领取", days_ago=2, deal_after=1)
    claimed(world_a, world_a.rep2, "上季度领取", days_ago=50, deal_after=1)  # outside a 30-day period
    for i in range(2):
        owned(world_a, world_a.rep1, f"过期{i}", owned_days_ago=60, followed_days_ago=40)
    with django_capture_on_commit_callbacks(execute=False):
        assert fallback_run(tenant=world_a.tenant) == 2
    today = local_today(world_a.tenant)
    period = Period.of(world_a.tenant, today - dt.timedelta(days=29), today)
    report = pool_health(world_a.admin, period)
    reps = {r.user: r for r in report.reps}
    one, two = reps[world_a.rep1], reps[world_a.rep2]
    assert (one.claims, one.claim_deals, one.claim_to_deal, one.fallbacks) == (3, 1, 33.3, 2)
    assert (two.claims, two.claim_deals, two.claim_to_deal, two.fallbacks) == (1, 1, 100.0, 0)
    assert (report.totals.claims, report.totals.claim_deals, report.totals.fallbacks) == (4, 2, 2)
    c = client_for(world_a.admin)
    span = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    assert drill_count(c, metric="claims", rep=world_a.rep1.pk, **span) == 3
    assert drill_count(c, metric="claim_deals", rep=world_a.rep1.pk, **span) == 1
    assert drill_count(c, metric="fallbacks", rep=world_a.rep1.pk, **span) == 2
    assert drill_count(c, metric="claims", **span) == 4
    # A longer period takes the older claim in.
    longer = {"start": (today - dt.timedelta(days=89)).isoformat(), "end": today.isoformat()}
    page = c.get(reverse("pool:health"), longer)
    assert {r.user: r.claims for r in page.context["report"].reps}[world_a.rep2] == 2


@pytest.mark.django_db
def test_hoarding_near_the_cap_with_few_follow_ups(world_a, client_for):
    world_a.tenant.max_customers_per_rep = 10
    world_a.tenant.save()
    for i in range(9):
        owned(world_a, world_a.rep1, f"囤积{i}", owned_days_ago=50, followed_days_ago=1 if i == 0 else 40)
        owned(world_a, world_a.rep2, f"勤快{i}", owned_days_ago=50, followed_days_ago=2)
    owned(world_a, world_a.manager, "经理自己的", owned_days_ago=50)
    today = local_today(world_a.tenant)
    report = pool_health(world_a.admin, Period.of(world_a.tenant, today, today))
    assert [r.user for r in report.near_cap] == [world_a.rep1, world_a.rep2]
    assert [r.user for r in report.hoarders] == [world_a.rep1]
    rep1 = next(r for r in report.reps if r.user == world_a.rep1)
    assert (rep1.held, rep1.followed_recently, rep1.cap_share) == (9, 1, 90.0)
    c = client_for(world_a.admin)
    assert drill_count(c, metric="followed", rep=world_a.rep1.pk) == 1
    html = c.get(reverse("pool:health")).content.decode()
    assert f'data-testid="hoarding-{world_a.rep1.pk}" class="table-warning"' in html


@pytest.mark.django_db
def test_a_manager_sees_their_teams_only(world_a, client_for, north):
    pool_for(world_a)
    team, boss, north_rep, north_pool = north
    claimed(world_a, world_a.rep1, "一组领取")
    north_customer = waiting(world_a, "华北客户", 3, pool=north_pool)
    customer_claim(rep=north_rep, customer_id=north_customer.pk)
    c = client_for(world_a.manager)
    report = c.get(reverse("pool:health")).context["report"]
    assert {r.user for r in report.reps} == {world_a.rep1, world_a.rep2}
    assert report.totals.claims == 1
    # Another team's rep or pool is not a valid choice for the drill-down.
    assert c.get(reverse("pool:health_customers"), {"metric": "claims", "rep": north_rep.pk}).status_code == 422
    assert c.get(reverse("pool:health_customers"), {"metric": "waiting", "pool": north_pool.pk}).status_code == 422
    # The north manager sees the north only.
    north_report = client_for(boss).get(reverse("pool:health")).context["report"]
    assert {r.user for r in north_report.reps} == {north_rep}
    assert north_report.totals.claims == 1 and [r.pool for r in north_report.pools] == [north_pool]


@pytest.mark.django_db
def test_reps_agents_and_other_tenants_see_nothing(world_a, world_b, client_for):
    pool_for(world_a)
    claimed(world_a, world_a.rep1, "甲方领取")
    for user in (world_a.rep1, world_a.agent):
        assert client_for(user).get(reverse("pool:health")).status_code == 403
        assert client_for(user).get(reverse("pool:health_customers"), {"metric": "claims"}).status_code == 403
    b = client_for(world_b.admin)
    page = b.get(reverse("pool:health"))
    assert page.status_code == 200 and page.context["report"].totals.claims == 0
    assert "甲方领取" not in b.get(reverse("pool:health_customers"), {"metric": "claims"}).content.decode()
    a_pool = default_pool(world_a.tenant)
    assert b.get(reverse("pool:health_customers"), {"metric": "waiting", "pool": a_pool.pk}).status_code == 422
    assert b.get(reverse("pool:health_customers"), {"metric": "claims", "rep": world_a.rep1.pk}).status_code == 422


@pytest.mark.django_db
def test_bad_periods_are_refused_with_a_message(world_a, client_for):
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    c = client_for(world_a.admin)
    for params, message in (
        ({"start": "2026-05-01", "end": "2026-04-01"}, "The period starts after it ends."),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "at most 366 days"),
        ({"start": "yesterday"}, "Enter a valid date."),
    ):
        response = c.get(reverse("pool:health"), params)
        assert response.status_code == 422 and message in response.content.decode(), params
    assert c.get(reverse("pool:health_customers"), {"metric": "nonsense"}).status_code == 422


@pytest.mark.django_db
def test_pool_health_runs_a_fixed_number_of_queries(world_a, client_for, django_assert_max_num_queries):
    pool_for(world_a)
    extra = [UserFactory(tenant=world_a.tenant, team=world_a.team1, roles=[Role.REP]) for _ in range(5)]
    for i, rep in enumerate([world_a.rep1, world_a.rep2, *extra]):
        claimed(world_a, rep, f"领取{i}", deal_after=1 if i % 2 else None)
        owned(world_a, rep, f"持有{i}", owned_days_ago=3)
        waiting(world_a, f"等待{i}", i * 20)
    c = client_for(world_a.manager)
    with django_assert_max_num_queries(11):
        response = c.get(reverse("pool:health"))
    assert len(response.context["report"].reps) == 7
    assert Customer.objects.filter(tenant=world_a.tenant).count() == 21
