"""The stored fall-back date (Customer.fallback_at) equals the predicate's computed one after every kind of change
that moves it; the job selects by it but never moves a customer the predicate keeps; the check-and-repair command
and the nightly job put a wrong date right; pool health counts waiting customers by the stored pooled_at."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db.models import DateField, Value
from django.urls import reverse
from django.utils import timezone

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from customers import tasks
from customers.models import Customer, CustomerLevel, Pool, PoolLevelRule
from customers.selectors.pool import COMPUTED, with_fallback_at
from customers.services.contract_cover import customer_contract_cover_refresh
from customers.services.customer import customer_update, record_deal, record_follow_up
from customers.services.extension import extension_request
from customers.services.fallback import fallback_run
from customers.services.fallback_date import fallback_at_mismatches, fallback_at_refresh
from customers.services.pool import customer_assign, customer_claim, customer_release, move_to_pool
from customers.services.tenant import tenant_defaults
from customers.services.transfer import customer_transfer
from customers.services.trash import customer_restore, customer_trash

from .test_pool import owned, pool_for, pooled

pytestmark = pytest.mark.django_db


def stored_and_computed(customer):
    row = with_fallback_at(Customer.objects.filter(pk=customer.pk), customer.tenant).get()
    return row.fallback_at, getattr(row, COMPUTED)


def assert_agree(world, customer):
    """The one customer's stored date is the computed one, and no customer of the tenant disagrees."""
    stored, computed = stored_and_computed(customer)
    assert stored == computed, customer.name
    assert fallback_at_mismatches(world.tenant) == (0, [])
    return stored


def test_every_kind_of_change_keeps_the_stored_date_equal_to_the_computed_one(
    world_a, django_capture_on_commit_callbacks
):
    tenant_defaults(tenant=world_a.tenant)
    pool = pool_for(world_a, no_followup_days=30, no_deal_days=90, no_contract_days=60, extension_days=7)
    pool.exempt_key_accounts = True
    pool.save()
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_a, no_followup_days=60)
    fallback_at_refresh(tenant=world_a.tenant, pool_ids=[pool.pk])
    rep, now = world_a.rep1, timezone.now()
    customer = owned(world_a, rep, "全程", owned_days_ago=40, followed_days_ago=20)
    start = assert_agree(world_a, customer)
    assert start is not None

    # A follow-up logged moves it later; a deal recorded leaves the nearer follow-up clock in charge.
    record_follow_up(customer_id=customer.pk, at=now - dt.timedelta(days=2), tenant_id=world_a.tenant.pk)
    after_follow_up = assert_agree(world_a, customer)
    assert after_follow_up > start
    record_deal(customer_id=customer.pk, at=now - dt.timedelta(days=1), tenant_id=world_a.tenant.pk)
    assert assert_agree(world_a, customer) == after_follow_up

    # The level's own rule (60 days) governs once the level changes; a key account never falls back.
    customer_update(acting_user=world_a.admin, customer=customer, data={"level": level_a})
    assert assert_agree(world_a, customer) == after_follow_up + dt.timedelta(days=30)
    customer_update(acting_user=world_a.admin, customer=customer, data={"is_key_account": True})
    assert assert_agree(world_a, customer) is None
    customer_update(acting_user=world_a.admin, customer=customer, data={"is_key_account": False, "level": None})
    assert assert_agree(world_a, customer) == after_follow_up

    # A signed contract in effect holds it; once ended, the contract rule (60 days after the end) governs.
    today = timezone.localtime(now, world_a.tenant.tzinfo).date()
    customer_contract_cover_refresh(
        tenant_id=world_a.tenant.pk,
        customer_ids=[customer.pk],
        cover=Value(today - dt.timedelta(days=10), output_field=DateField()),
    )
    ended = assert_agree(world_a, customer)
    assert timezone.localtime(ended, world_a.tenant.tzinfo).date() == today + dt.timedelta(days=50)
    customer_contract_cover_refresh(
        tenant_id=world_a.tenant.pk, customer_ids=[customer.pk], cover=Value(None, output_field=DateField())
    )
    assert assert_agree(world_a, customer) == after_follow_up

    # An approved extension adds the pool's days.
    with django_capture_on_commit_callbacks(execute=False):
        request = extension_request(acting_user=rep, customer=customer, reason="下周签约")
        approval = ApprovalRequest.objects.get(kind="pool.extension", object_id=request.pk)
        approval_decide(acting_user=world_a.manager, request_id=approval.pk, step=1, approve=True)
    assert assert_agree(world_a, customer) == after_follow_up + dt.timedelta(days=7)

    # A transfer restarts the clock; the bin clears it and a restore brings it back.
    customer_transfer(acting_user=world_a.admin, customers=[customer], to_owner=world_a.rep2, reason="调岗")
    transferred = assert_agree(world_a, customer)
    assert transferred > after_follow_up + dt.timedelta(days=7)
    customer_trash(acting_user=world_a.admin, customer=customer)
    assert assert_agree(world_a, customer) is None
    customer_restore(acting_user=world_a.admin, customer=customer)
    assert assert_agree(world_a, customer) == transferred

    # Released: no date, and it waits in the pool from now; claimed again: a date from the claim.
    customer_release(acting_user=world_a.rep2, customer=customer, reason="不再跟进")
    assert assert_agree(world_a, customer) is None
    customer.refresh_from_db()
    assert customer.pooled_at is not None and customer.owner_id is None
    with django_capture_on_commit_callbacks(execute=False):
        customer_claim(rep=rep, customer_id=customer.pk)
    claimed = assert_agree(world_a, customer)
    assert claimed is not None
    customer.refresh_from_db()
    assert customer.owner_id == rep.pk and customer.pooled_at is None


def test_assign_move_and_a_rule_change_keep_the_pools_dates(world_a, client_for, django_capture_on_commit_callbacks):
    pool = pool_for(world_a, no_followup_days=30)
    waiting = pooled(world_a, "待分配", n=2)
    held = owned(world_a, world_a.rep1, "在手", owned_days_ago=10, followed_days_ago=5)
    with django_capture_on_commit_callbacks(execute=False):
        customer_assign(acting_user=world_a.manager, customer_ids=[c.pk for c in waiting], rep=world_a.rep2)
    for c in waiting:
        assert assert_agree(world_a, c) is not None
    before = assert_agree(world_a, held)

    # Saving the pool's rules recomputes its customers (one set-based UPDATE).
    admin = client_for(world_a.admin)
    response = admin.post(
        reverse("pool_settings:edit", args=[pool.pk]),
        {
            "name": pool.name,
            "no_followup_days": "60",
            "warn_days_before": "3",
            "extension_days": "7",
            "reclaim_cooldown_days": "0",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert assert_agree(world_a, held) == before + dt.timedelta(days=30)

    # Moved to a pool without rules: never.
    other = Pool.objects.create(tenant=world_a.tenant, name="无规则池")
    move_to_pool(acting_user=world_a.admin, customer_ids=[held.pk], pool=other)
    assert assert_agree(world_a, held) is None


def test_the_job_moves_by_the_stored_date_and_rechecks_the_rule(world_a, django_capture_on_commit_callbacks):
    pool_for(world_a, no_followup_days=30)
    due = owned(world_a, world_a.rep1, "到期", owned_days_ago=60, followed_days_ago=31)
    fresh = owned(world_a, world_a.rep1, "新跟进", owned_days_ago=60, followed_days_ago=1)
    # A stored date wrongly in the past: the predicate, re-checked in the move, keeps the customer.
    Customer.objects.filter(pk=fresh.pk).update(fallback_at=timezone.now() - dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=False):
        assert fallback_run(tenant=world_a.tenant) == 1
        assert fallback_run(tenant=world_a.tenant) == 0  # a second run moves nothing more
    due.refresh_from_db()
    fresh.refresh_from_db()
    assert due.owner_id is None and due.fallback_at is None and due.pooled_at is not None
    assert fresh.owner_id == world_a.rep1.pk


def test_the_check_command_and_the_nightly_job_repair_a_wrong_date(world_a, world_b):
    pool_for(world_a, no_followup_days=30)
    customer = owned(world_a, world_a.rep1, "错日期", owned_days_ago=60, followed_days_ago=10)
    right = customer.fallback_at
    assert right is not None
    Customer.objects.filter(pk=customer.pk).update(fallback_at=None)
    assert fallback_at_mismatches(world_a.tenant) == (1, [(customer.pk, None, right)])
    with pytest.raises(CommandError, match="1 stored fall-back dates differ"):
        call_command("fallback_dates", "--tenant", world_a.tenant.slug)
    call_command("fallback_dates", "--tenant", world_a.tenant.slug, "--repair")
    customer.refresh_from_db()
    assert customer.fallback_at == right
    call_command("fallback_dates")  # every company agrees now

    # The nightly job does the same, and a second run changes nothing.
    Customer.objects.filter(pk=customer.pk).update(fallback_at=None)
    assert tasks.fallback_dates_for_tenant(world_a.tenant.pk) == 1
    assert tasks.fallback_dates_for_tenant(world_a.tenant.pk) == 0
    customer.refresh_from_db()
    assert customer.fallback_at == right


def test_the_list_sorts_by_the_stored_date_soonest_first_never_last(world_a, client_for):
    pool_for(world_a, no_followup_days=30)
    later = owned(world_a, world_a.rep1, "晚", owned_days_ago=60, followed_days_ago=5)
    sooner = owned(world_a, world_a.rep1, "早", owned_days_ago=60, followed_days_ago=25)
    never = owned(world_a, world_a.rep1, "重点", owned_days_ago=60, followed_days_ago=29, is_key_account=True)
    pool = later.pool
    pool.exempt_key_accounts = True
    pool.save()
    fallback_at_refresh(tenant=world_a.tenant, pool_ids=[pool.pk])
    page = client_for(world_a.rep1).get(reverse("customers:list"), {"sort": "fallback"})
    names = [c.name for c in page.context["customers"]]
    assert names.index(sooner.name) < names.index(later.name) < names.index(never.name)
    assert page.context["customers"][-1].fallback_at is None
