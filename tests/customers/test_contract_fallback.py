"""Contract-aware fall-back: a customer covered by a signed contract never falls back; after its last signed
contract ends, the pool's "days after the last contract" rule (per level) governs it instead of the follow-up and
deal clocks; customers that never signed keep those clocks. The job, the warnings, the simulation and the fall-back
date all read the one predicate, so they agree on the same data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import DateField, Value
from django.urls import reverse
from django.utils import timezone

from customers.models import (
    CONTRACT_OPEN_ENDED,
    Customer,
    CustomerLevel,
    FallbackWarning,
    OwnershipEvent,
    PoolLevelRule,
)
from customers.selectors.pool import computed_day, fallback_due, with_fallback_at
from customers.selectors.simulation import simulate
from customers.services.contract_cover import customer_contract_cover_refresh
from customers.services.fallback import fallback_run, warn_run
from customers.services.merge import customer_merge
from customers.services.tenant import tenant_defaults

from .test_pool import owned, pool_for

pytestmark = pytest.mark.django_db


def today_of(world):
    return timezone.localtime(timezone.now(), world.tenant.tzinfo).date()


def covered(customer, until: dt.date | None) -> Customer:
    # As sales writes it: through the customers' service, which moves the stored fall-back date with it.
    customer_contract_cover_refresh(
        tenant_id=customer.tenant_id, customer_ids=[customer.pk], cover=Value(until, output_field=DateField())
    )
    customer.refresh_from_db()
    return customer


def due_names(pool, **kwargs) -> set[str]:
    return set(fallback_due(pool, **kwargs).values_list("name", flat=True))


def test_boundaries_of_the_days_after_the_last_contract(world_a):
    pool = pool_for(world_a, no_followup_days=30, no_contract_days=60, exempt_key_accounts=False)
    today = today_of(world_a)
    rep = world_a.rep1

    def ended(name, days_ago, **kwargs):
        customer = owned(world_a, rep, name, owned_days_ago=400, followed_days_ago=kwargs.pop("followed", 1))
        return covered(customer, today - dt.timedelta(days=days_ago))

    ended("今天到期", 0)  # the day of the end: still covered
    ended("差一天", 59)  # N - 1 days after the end
    ended("整N天", 60)  # N days after the end: due
    ended("很久以前", 300)
    ended("合同结束但常跟进", 61, followed=0)  # following up does not hold a customer whose contract ended
    ended("新签", 90)
    covered(Customer.objects.get(name="新签"), CONTRACT_OPEN_ENDED)  # a new contract without an end date
    future = owned(world_a, rep, "合同在期", owned_days_ago=400, followed_days_ago=200)
    covered(future, today + dt.timedelta(days=10))  # in effect: even 200 days without follow-up do not matter
    owned(world_a, rep, "从未签约", owned_days_ago=400, followed_days_ago=31)  # never signed: the follow-up rule
    owned(world_a, rep, "从未签约常跟进", owned_days_ago=400, followed_days_ago=5)
    claimed = ended("刚认领", 300)
    Customer.objects.filter(pk=claimed.pk).update(owned_since=timezone.now() - dt.timedelta(days=5))

    assert due_names(pool) == {"整N天", "很久以前", "合同结束但常跟进", "从未签约"}
    # Tomorrow the N - 1 one is due; today's end is due on the day end + N.
    assert "差一天" in due_names(pool, days_ahead=1)
    assert "今天到期" not in due_names(pool, days_ahead=59)
    assert "今天到期" in due_names(pool, days_ahead=60)
    # The one its rep just claimed gets N days from the claim.
    assert "刚认领" not in due_names(pool, days_ahead=54) and "刚认领" in due_names(pool, days_ahead=55)


def test_without_a_contract_rule_the_follow_up_rule_counts_again_after_the_end(world_a):
    pool = pool_for(world_a, no_followup_days=30)
    today = today_of(world_a)
    in_effect = covered(owned(world_a, world_a.rep1, "在期", owned_days_ago=400, followed_days_ago=100), today)
    covered(owned(world_a, world_a.rep1, "已结束", owned_days_ago=400, followed_days_ago=100), today - dt.timedelta(1))
    assert due_names(pool) == {"已结束"}
    assert in_effect.name in due_names(pool, days_ahead=1)


def test_level_rules_choose_the_days_after_the_contract(world_a):
    tenant_defaults(tenant=world_a.tenant)
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    level_c = CustomerLevel.objects.get(tenant=world_a.tenant, code="C")
    pool = pool_for(world_a, no_followup_days=30, no_contract_days=30)
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_a, no_contract_days=90)
    today = today_of(world_a)
    rep = world_a.rep1
    a45 = owned(world_a, rep, "A级45天", owned_days_ago=400, followed_days_ago=1, level=level_a)
    c45 = owned(world_a, rep, "C级45天", owned_days_ago=400, followed_days_ago=1, level=level_c)
    none45 = owned(world_a, rep, "无级别45天", owned_days_ago=400, followed_days_ago=1)
    for customer in (a45, c45, none45):
        covered(customer, today - dt.timedelta(days=45))
    assert due_names(pool) == {"C级45天", "无级别45天"}
    assert "A级45天" in due_names(pool, days_ahead=45)


def test_an_extension_postpones_the_contract_clock(world_a):
    pool = pool_for(world_a, no_contract_days=30)
    customer = owned(world_a, world_a.rep1, "延期", owned_days_ago=400, followed_days_ago=1)
    covered(customer, today_of(world_a) - dt.timedelta(days=32))
    assert due_names(pool) == {"延期"}
    Customer.objects.filter(pk=customer.pk).update(extension_days=7)
    assert due_names(pool) == set() and due_names(pool, days_ahead=5) == {"延期"}


def contract_book(world):
    """Owned customers at every distance from a 30-day follow-up rule and a 60-day contract rule."""
    today = today_of(world)
    rep1, rep2 = world.rep1, world.rep2

    def make(rep, name, ended_days_ago=None, followed=1, **kwargs):
        customer = owned(world, rep, name, owned_days_ago=400, followed_days_ago=followed, **kwargs)
        if ended_days_ago is not None:
            covered(customer, today - dt.timedelta(days=ended_days_ago))
        return customer

    return {
        "ended70": make(rep1, "结束七十天", 70),
        "ended60": make(rep2, "结束六十天", 60),
        "ended59": make(rep1, "结束五十九天", 59),
        "ended56": make(rep2, "结束五十六天", 56),
        "ended10": make(rep1, "结束十天", 10, followed=100),
        "ending": make(rep2, "今天到期", 0, followed=100),
        "open": make(rep1, "无期限", followed=200),
        "never31": make(rep2, "从未签约31天", followed=31),
        "never29": make(rep1, "从未签约29天", followed=29),
        "never10": make(rep2, "从未签约10天", followed=10),
    } | {"_open": covered(Customer.objects.get(name="无期限"), CONTRACT_OPEN_ENDED)}


def test_the_job_the_warnings_the_simulation_and_the_date_agree(world_a, django_capture_on_commit_callbacks):
    pool = pool_for(world_a, no_followup_days=30, no_contract_days=60, warn_days_before=5)
    made = contract_book(world_a)
    now = timezone.now()
    sim = simulate(pool, now=now)
    assert sim.due_ids == {made["ended70"].pk, made["ended60"].pk, made["never31"].pk}
    assert {(w.customer.name, w.step) for w in sim.warned} == {
        ("结束五十九天", "last_day"),
        ("从未签约29天", "last_day"),
        ("结束五十六天", "early"),
    }
    # The fall-back date names the day the predicate first counts each customer, and nothing for the open-ended.
    today = today_of(world_a)
    rows = {c.pk: c for c in with_fallback_at(Customer.objects.filter(tenant=world_a.tenant), world_a.tenant)}
    assert rows[made["open"].pk].computed_fallback_at is None
    for key in ("ended59", "ended56", "ended10", "ending", "never29", "never10"):
        day = computed_day(rows[made[key].pk])
        ahead = (day - today).days
        assert ahead > 0, key
        assert made[key].pk in set(fallback_due(pool, now=now, days_ahead=ahead).values_list("pk", flat=True)), key
        assert made[key].pk not in set(fallback_due(pool, now=now, days_ahead=ahead - 1).values_list("pk", flat=True))
    assert computed_day(rows[made["ending"].pk]) == today + dt.timedelta(days=60)
    assert computed_day(rows[made["ended10"].pk]) == today + dt.timedelta(days=50)

    with django_capture_on_commit_callbacks(execute=False):
        warn_run(tenant=world_a.tenant, now=now, force=True)
        moved = fallback_run(tenant=world_a.tenant, now=now)
    sent = set(FallbackWarning.objects.filter(tenant=world_a.tenant).values_list("customer_id", "step"))
    assert sent == sim.new_warnings
    fell_back = set(OwnershipEvent.objects.filter(reason="fallback").values_list("customer_id", flat=True))
    assert moved == sim.due_count == 3 and fell_back == sim.due_ids


def test_the_customer_list_sorts_by_a_date_that_counts_the_contract(world_a, client_for):
    pool_for(world_a, no_followup_days=30, no_contract_days=60)
    made = contract_book(world_a)
    response = client_for(world_a.rep1).get(reverse("customers:detail", args=[made["ended10"].pk]))
    assert response.status_code == 200
    expected = today_of(world_a) + dt.timedelta(days=50)
    assert expected.isoformat() in response.content.decode()


def test_a_merge_keeps_the_longer_cover(world_a):
    today = today_of(world_a)
    keep = owned(world_a, world_a.rep1, "保留")
    merge = covered(owned(world_a, world_a.rep1, "并入"), today + dt.timedelta(days=30))
    customer_merge(acting_user=world_a.admin, keep=keep, merge=merge)
    keep.refresh_from_db()
    assert keep.contract_cover_until == today + dt.timedelta(days=30)


def test_the_pool_form_saves_and_explains_the_contract_rule(world_a, client_for):
    tenant_defaults(tenant=world_a.tenant)
    pool = pool_for(world_a, no_followup_days=30)
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    admin = client_for(world_a.admin)
    page = admin.get(reverse("pool_settings:edit", args=[pool.pk]))
    assert b'data-testid="contract-rule-help"' in page.content and b"no_contract_days" in page.content
    data = {
        "name": pool.name,
        "is_default": "on",
        "no_followup_days": "30",
        "no_contract_days": "60",
        "exempt_key_accounts": "on",
        "warn_days_before": "3",
        "extension_days": "7",
        "reclaim_cooldown_days": "0",
        "teams": [world_a.sales.pk],
        f"level_{level_a.pk}_contract": "90",
    }
    response = admin.post(reverse("pool_settings:edit", args=[pool.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    pool.refresh_from_db()
    assert pool.no_contract_days == 60
    assert PoolLevelRule.objects.get(pool=pool, level=level_a).no_contract_days == 90
    bad = admin.post(reverse("pool_settings:edit", args=[pool.pk]), data | {f"level_{level_a.pk}_contract": "x"})
    assert bad.status_code == 422
