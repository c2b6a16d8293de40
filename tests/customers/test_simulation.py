"""The pool-rule simulation (issue 7): computed by the fallback predicate with the unsaved values, it names exactly
the customers the fallback job then moves and exactly the warnings the warning job then sends; it saves nothing; it
is for the tenant's administrators only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerLevel, FallbackWarning, OwnershipEvent, Pool, PoolLevelRule
from customers.selectors.simulation import overrides_of, simulate
from customers.services.customer import record_deal
from customers.services.fallback import fallback_run, warn_run
from customers.services.fallback_date import fallback_at_refresh
from customers.services.tenant import default_pool

from .test_pool import owned, pool_for


def build_book(world):
    """Customers of two reps at every distance from the rules below: levels, key accounts, recent deals."""
    level_a = CustomerLevel.objects.get(tenant=world.tenant, code="A")
    now = timezone.now()
    made = {
        "31天": owned(world, world.rep1, "三十一天", owned_days_ago=100, followed_days_ago=31),
        "20天": owned(world, world.rep1, "二十天", owned_days_ago=100, followed_days_ago=20),
        "28天": owned(world, world.rep2, "二十八天", owned_days_ago=100, followed_days_ago=28),
        "29天": owned(world, world.rep2, "二十九天", owned_days_ago=100, followed_days_ago=29),
        "A40": owned(world, world.rep1, "A级四十天", owned_days_ago=100, followed_days_ago=40, level=level_a),
        "A50": owned(world, world.rep2, "A级五十天", owned_days_ago=100, followed_days_ago=50, level=level_a),
        "重点": owned(world, world.rep1, "重点客户", owned_days_ago=100, followed_days_ago=90, is_key_account=True),
        "新成交": owned(world, world.rep2, "刚成交", owned_days_ago=100, followed_days_ago=90),
        "从未": owned(world, world.rep2, "从未跟进", owned_days_ago=35),
    }
    record_deal(customer_id=made["新成交"].pk, at=now - dt.timedelta(days=5), tenant_id=world.tenant.pk)
    return made, level_a


UNSAVED = {
    "no_followup_days": "30",
    "no_deal_days": "",
    "exempt_key_accounts": "on",
    "exempt_recent_deal_days": "10",
    "warn_days_before": "5",
}


def form_data(pool, level_a, **values):
    data = {
        "name": pool.name,
        "extension_days": "7",
        "reclaim_cooldown_days": "0",
        **UNSAVED,
        f"level_{level_a.pk}_followup": "45",
        **values,
    }
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_simulation_and_jobs_agree(world_a, client_for, django_capture_on_commit_callbacks):
    # Saved: lenient rules. The simulation runs the admin's unsaved, stricter values.
    pool = pool_for(world_a, no_followup_days=90, warn_days_before=2, exempt_key_accounts=False)
    made, level_a = build_book(world_a)
    now = timezone.now()
    overrides = overrides_of(
        {"no_followup_days": 30, "no_deal_days": None, "exempt_key_accounts": True, "exempt_recent_deal_days": 10},
        {level_a.pk: (45, None)},
    )
    # One warning was already sent in this ownership period: the job will not send it again.
    FallbackWarning.objects.create(
        tenant=world_a.tenant,
        customer=made["29天"],
        owner=world_a.rep2,
        owned_since=made["29天"].owned_since,
        step="last_day",
        due_on=now.date(),
    )
    sim = simulate(pool, overrides=overrides, warn_days_before=5, now=now)
    assert sim.runs
    assert sim.due_ids == {made["31天"].pk, made["A50"].pk, made["从未"].pk}
    assert {(w.customer.name, w.step) for w in sim.warned} == {
        ("二十九天", "last_day"),
        ("二十八天", "early"),
        ("A级四十天", "early"),
    }
    assert sim.new_warnings == {(made["28天"].pk, "early"), (made["A40"].pk, "early")}
    per_rep = {r.user: (r.fall_back, r.warned) for r in sim.per_rep}
    assert per_rep == {world_a.rep1: (1, 1), world_a.rep2: (2, 2)}
    # The saved rules say something else: the simulation really ran the values on the screen.
    assert simulate(pool, now=now).due_ids != sim.due_ids

    # The admin saves exactly these values; then both jobs run on the same data at the same moment.
    admin = client_for(world_a.admin)
    response = admin.post(reverse("pool_settings:edit", args=[pool.pk]), form_data(pool, level_a))
    assert response.status_code == 302, response.context["form"].errors
    pool.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        warn_run(tenant=world_a.tenant, now=now, force=True)
        moved = fallback_run(tenant=world_a.tenant, now=now)
    sent = set(
        FallbackWarning.objects.filter(tenant=world_a.tenant)
        .exclude(customer=made["29天"])
        .values_list("customer_id", "step")
    )
    assert sent == sim.new_warnings
    fell_back = set(OwnershipEvent.objects.filter(reason="fallback").values_list("customer_id", flat=True))
    assert moved == sim.due_count and fell_back == sim.due_ids


@pytest.mark.django_db
def test_level_rules_alone_run_and_the_simulation_agrees_with_the_job(world_a, django_capture_on_commit_callbacks):
    pool = pool_for(world_a)
    made, level_a = build_book(world_a)
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_a, no_followup_days=10)
    # As saving the rules in Settings does: the pool's stored dates follow its new rules.
    fallback_at_refresh(tenant=world_a.tenant, pool_ids=[pool.pk])
    sim = simulate(pool)
    assert sim.runs
    with django_capture_on_commit_callbacks(execute=False):
        assert fallback_run(tenant=world_a.tenant) == len(sim.due_ids)
    moved = set(OwnershipEvent.objects.filter(reason="fallback").values_list("customer_id", flat=True))
    assert moved == sim.due_ids


@pytest.mark.django_db
def test_simulation_on_the_pool_form_saves_nothing(world_a, client_for):
    pool = pool_for(world_a, no_followup_days=120)
    made, level_a = build_book(world_a)
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    c = client_for(world_a.admin)
    page = c.get(reverse("pool_settings:edit", args=[pool.pk]))
    assert page.status_code == 200 and b'data-testid="pool-simulation"' in page.content
    assert page.context["sim"].due_count == 0  # the saved rules: 120 days
    url = reverse("pool_settings:simulate", args=[pool.pk])
    response = c.post(url, form_data(pool, level_a), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "3 customers would fall back to this pool." in html
    assert "三十一天" in html and world_a.rep2.full_name in html
    # Bad values: a translated message per field, no simulation, nothing saved.
    bad = c.post(url, form_data(pool, level_a, no_followup_days="abc", **{f"level_{level_a.pk}_followup": "-3"}))
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "Enter a whole number." in text and "between 1 and 3650" in text and "would fall back" not in text
    pool.refresh_from_db()
    assert pool.no_followup_days == 120 and pool.warn_days_before == 3
    assert not PoolLevelRule.objects.filter(pool=pool).exists()
    assert not OwnershipEvent.objects.filter(reason="fallback").exists()


@pytest.mark.django_db
def test_simulation_is_for_admins_of_the_tenant(world_a, world_b, client_for):
    pool = default_pool(world_a.tenant)
    url = reverse("pool_settings:simulate", args=[pool.pk])
    assert client_for(world_a.manager).post(url, {}).status_code == 403
    assert client_for(world_a.rep1).post(url, {}).status_code == 403
    assert client_for(world_b.admin).post(url, {}).status_code == 404
    assert client_for(world_a.admin).get(url).status_code == 405
    assert Pool.objects.filter(tenant=world_a.tenant).count() == 1
