import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.errors import DomainError
from crm.models import Notification, Role
from crm.services.user import user_set_active
from customers.models import Customer, ExtensionRequest, FallbackWarning, OwnershipEvent, Pool, PoolLevelRule, PoolTeam
from customers.selectors.pool import fallback_due
from customers.services.customer import customer_create
from customers.services.extension import extension_request
from customers.services.fallback import fallback_run, warn_run
from customers.services.fallback_date import fallback_at_refresh
from customers.services.pool import (
    ClaimRefused,
    customer_assign,
    customer_claim,
    customer_release,
    move_to_pool,
    record_pool_view,
)
from customers.services.tenant import default_pool

from ..conftest import build_world, wait_for, wait_until_blocked
from ..factories import UserFactory


def pool_for(world, **rules) -> Pool:
    pool = default_pool(world.tenant)
    for key, value in rules.items():
        setattr(pool, key, value)
    pool.save()
    PoolTeam.objects.get_or_create(tenant=world.tenant, pool=pool, team=world.sales)
    return pool


def pooled(world, name, n=1):
    pool = default_pool(world.tenant)
    return [
        customer_create(acting_user=world.admin, data={"name": f"{name}{i}"}, owner=None, to_pool=pool)
        for i in range(n)
    ]


def owned(world, rep, name, *, owned_days_ago=0, followed_days_ago=None, level=None, **data):
    customer = customer_create(acting_user=rep, data={"name": name, "level": level, **data})
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=now - dt.timedelta(days=owned_days_ago),
        last_followed_up_at=None if followed_days_ago is None else now - dt.timedelta(days=followed_days_ago),
    )
    # The history written above bypassed the services: its stored fall-back date is derived again.
    fallback_at_refresh(tenant=world.tenant, ids=[customer.pk])
    customer.refresh_from_db()
    return customer


# --- who sees which pool -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pool_is_visible_only_to_the_teams_it_names(world_a, world_b):
    pool = default_pool(world_a.tenant)
    PoolTeam.objects.filter(pool=pool).delete()
    other = Pool.objects.create(tenant=world_a.tenant, name="二组专用")
    PoolTeam.objects.create(tenant=world_a.tenant, pool=pool, team=world_a.sales)  # sub-teams see it too
    PoolTeam.objects.create(tenant=world_a.tenant, pool=other, team=world_a.team2)
    assert set(Pool.objects.visible_to(world_a.rep1)) == {pool}
    assert set(Pool.objects.visible_to(world_a.rep2)) == {pool, other}
    assert set(Pool.objects.visible_to(world_a.agent)) == set()
    assert set(Pool.objects.visible_to(world_a.manager)) == {pool, other}
    assert set(Pool.objects.visible_to(world_a.admin)) == {pool, other}
    assert not Pool.objects.visible_to(world_b.admin).filter(tenant=world_a.tenant).exists()


# --- claiming ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_and_second_claimer_learns_who_got_it(world_a):
    pool_for(world_a)
    (customer,) = pooled(world_a, "公海客户")
    customer_claim(rep=world_a.rep1, customer_id=customer.pk)
    customer.refresh_from_db()
    assert customer.owner == world_a.rep1 and customer.owned_since is not None
    with pytest.raises(ClaimRefused) as exc:
        customer_claim(rep=world_a.rep2, customer_id=customer.pk)
    assert world_a.rep1.full_name in exc.value.message
    assert OwnershipEvent.objects.filter(customer=customer, reason="claim").count() == 1


@pytest.mark.django_db
def test_claim_rules_cap_daily_claims_and_cooldown(world_a):
    pool = pool_for(world_a, max_claims_per_day=2, reclaim_cooldown_days=7)
    customers = pooled(world_a, "规则", 4)
    customer_claim(rep=world_a.rep1, customer_id=customers[0].pk)
    customer_claim(rep=world_a.rep1, customer_id=customers[1].pk)
    with pytest.raises(ClaimRefused, match="claims"):
        customer_claim(rep=world_a.rep1, customer_id=customers[2].pk)
    # Cooldown: a released customer cannot be re-claimed by the same rep within the pool's days.
    pool.max_claims_per_day = None
    pool.save()
    customer_release(acting_user=world_a.rep1, customer=customers[0], reason="不合适")
    with pytest.raises(ClaimRefused, match="again from"):
        customer_claim(rep=world_a.rep1, customer_id=customers[0].pk)
    customer_claim(rep=world_a.rep2, customer_id=customers[0].pk)  # a colleague may
    # Holding cap (tenant-wide): rep1 still holds one customer.
    world_a.tenant.max_customers_per_rep = 1
    world_a.tenant.save()
    world_a.rep1.refresh_from_db()
    with pytest.raises(ClaimRefused, match="most one rep may hold"):
        customer_claim(rep=world_a.rep1, customer_id=customers[3].pk)


@pytest.mark.django_db
def test_cannot_claim_from_a_pool_you_do_not_see_or_another_tenant(world_a, world_b):
    (customer,) = pooled(world_a, "看不见")
    PoolTeam.objects.filter(pool=customer.pool).exclude(team=world_a.service_team).delete()  # only service sees it
    with pytest.raises(Customer.DoesNotExist):
        customer_claim(rep=world_a.rep1, customer_id=customer.pk)
    with pytest.raises(Customer.DoesNotExist):
        customer_claim(rep=world_b.rep1, customer_id=customer.pk)


@pytest.mark.django_db(transaction=True)
def test_sixteen_simultaneous_claimers_exactly_one_wins_each_round():
    world = build_world("R")
    pool_for(world)
    reps = [UserFactory(tenant=world.tenant, team=world.team1, roles=[Role.REP]) for _ in range(16)]
    rounds = 12
    for round_ in range(rounds):
        (customer,) = pooled(world, f"抢单{round_}-")
        barrier = threading.Barrier(len(reps))
        winners, losers = [], []

        def claim(rep, customer_id=customer.pk):
            try:
                barrier.wait()
                customer_claim(rep=rep, customer_id=customer_id)
                winners.append(rep.pk)
            except ClaimRefused:
                losers.append(rep.pk)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1 and len(losers) == 15, (winners, losers)
        customer.refresh_from_db()
        assert customer.owner_id == winners[0]
        assert OwnershipEvent.objects.filter(customer=customer, reason="claim").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_exceed_cap_or_daily_claims():
    world = build_world("S")
    pool_for(world, max_claims_per_day=3)
    world.tenant.max_customers_per_rep = 5
    world.tenant.save()
    customers = pooled(world, "上限", 12)
    rep = world.rep1
    rep.refresh_from_db()
    barrier = threading.Barrier(12)

    def claim(customer_id):
        try:
            barrier.wait()
            customer_claim(rep=rep, customer_id=customer_id)
        except ClaimRefused:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(c.pk,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Customer.objects.filter(owner=rep).count() == 3  # the daily claims, below the cap of 5
    assert OwnershipEvent.objects.filter(to_owner=rep, reason="claim").count() == 3


# --- the predicate, the fallback job and the warnings ----------------------------------------------------------


@pytest.mark.django_db
def test_fallback_due_follows_rules_levels_exemptions_and_extension(world_a):
    pool = pool_for(world_a, no_followup_days=30, exempt_key_accounts=True)
    from customers.models import CustomerLevel

    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_a, no_followup_days=60)
    stale = owned(world_a, world_a.rep1, "三十一天", owned_days_ago=100, followed_days_ago=31)
    fresh = owned(world_a, world_a.rep1, "十天", owned_days_ago=100, followed_days_ago=10)
    level_a_customer = owned(
        world_a, world_a.rep1, "A级四十天", owned_days_ago=100, followed_days_ago=40, level=level_a
    )
    new_owner = owned(world_a, world_a.rep1, "刚领取", owned_days_ago=2, followed_days_ago=90)
    key = owned(world_a, world_a.rep1, "重点", owned_days_ago=100, followed_days_ago=90, is_key_account=True)
    never = owned(world_a, world_a.rep1, "从未跟进", owned_days_ago=45)
    due = set(fallback_due(pool))
    assert due == {stale, never}
    assert fresh not in due and level_a_customer not in due and new_owner not in due and key not in due
    # An approved extension postpones it.
    Customer.objects.filter(pk=stale.pk).update(extension_days=7)
    assert stale not in set(fallback_due(pool))
    # Looking ahead (the warnings): "十天" falls back in 20 days.
    assert fresh in set(fallback_due(pool, days_ahead=20))
    assert fresh not in set(fallback_due(pool, days_ahead=19))


@pytest.mark.django_db
def test_fallback_counts_tenant_local_days(world_a):
    pool = pool_for(world_a, no_followup_days=1)
    world_a.tenant.timezone = "Asia/Shanghai"
    world_a.tenant.save()
    customer = owned(world_a, world_a.rep1, "时区")
    # Followed up at 23:30 Shanghai time yesterday: one local day has passed at 00:30 today.
    now = dt.datetime(2026, 3, 10, 0, 30, tzinfo=world_a.tenant.tzinfo)
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=now - dt.timedelta(days=10), last_followed_up_at=now - dt.timedelta(hours=1)
    )
    assert customer in set(fallback_due(pool, now=now))
    assert customer not in set(fallback_due(pool, now=now - dt.timedelta(hours=1)))


@pytest.mark.django_db
def test_fallback_run_moves_set_based_writes_events_and_one_digest(world_a, django_capture_on_commit_callbacks):
    pool = pool_for(world_a, no_followup_days=30)
    stale = [owned(world_a, world_a.rep1, f"过期{i}", owned_days_ago=60, followed_days_ago=40) for i in range(3)]
    keep = owned(world_a, world_a.rep1, "保留", owned_days_ago=60, followed_days_ago=5)
    with django_capture_on_commit_callbacks(execute=False):
        assert fallback_run(tenant=world_a.tenant) == 3
        assert fallback_run(tenant=world_a.tenant) == 0  # idempotent
    for customer in stale:
        customer.refresh_from_db()
        assert customer.owner is None and customer.pool == pool
        assert OwnershipEvent.objects.filter(customer=customer, reason="fallback", from_owner=world_a.rep1).count() == 1
    keep.refresh_from_db()
    assert keep.owner == world_a.rep1
    assert Notification.objects.filter(recipient=world_a.rep1, title__contains="3").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_fallback_runs_at_once_move_each_customer_once():
    world = build_world("F")
    pool_for(world, no_followup_days=30)
    for i in range(40):
        owned(world, world.rep1 if i % 2 else world.rep2, f"并发回落{i}", owned_days_ago=60, followed_days_ago=45)
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(fallback_run(tenant=world.tenant))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 40
    assert OwnershipEvent.objects.filter(reason="fallback").count() == 40
    assert not Customer.objects.filter(tenant=world.tenant, owner__isnull=False).exists()


@pytest.mark.django_db
def test_claim_racing_fallback_leaves_consistent_history(world_a):
    pool = pool_for(world_a, no_followup_days=30)
    customer = owned(world_a, world_a.rep1, "竞态", owned_days_ago=60, followed_days_ago=40)
    fallback_run(tenant=world_a.tenant)
    customer_claim(rep=world_a.rep2, customer_id=customer.pk)
    assert fallback_run(tenant=world_a.tenant) == 0  # a fresh claim restarts the clock
    reasons = list(
        OwnershipEvent.objects.filter(customer=customer).order_by("at", "pk").values_list("reason", flat=True)
    )
    assert reasons == ["create", "fallback", "claim"]
    customer.refresh_from_db()
    assert customer.owner == world_a.rep2 and customer.pool == pool


@pytest.mark.django_db
def test_warning_ladder_each_step_once_per_ownership(world_a, django_capture_on_commit_callbacks):
    pool_for(world_a, no_followup_days=30, warn_days_before=5)
    early = owned(world_a, world_a.rep1, "五天后", owned_days_ago=60, followed_days_ago=26)
    last = owned(world_a, world_a.rep1, "明天", owned_days_ago=60, followed_days_ago=29)
    with django_capture_on_commit_callbacks(execute=False):
        sent = warn_run(tenant=world_a.tenant, force=True)
        assert sent == {"early": 1, "last_day": 1}
        # Even forced past the once-a-day gate, each step is sent once per customer per ownership period.
        assert warn_run(tenant=world_a.tenant, force=True) == {"early": 0, "last_day": 0}
    assert FallbackWarning.objects.filter(customer=early, step="early").count() == 1
    assert FallbackWarning.objects.filter(customer=last, step="last_day").count() == 1
    # One digest for the rep, one for the manager (the last-day step only).
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 1
    manager_note = Notification.objects.get(recipient=world_a.manager)
    assert "明天" in manager_note.body and "五天后" not in manager_note.body


@pytest.mark.django_db
def test_extension_request_and_approval_postpone_once(world_a, django_capture_on_commit_callbacks):
    pool = pool_for(world_a, no_followup_days=30, extension_days=10)
    customer = owned(world_a, world_a.rep1, "延期", owned_days_ago=60, followed_days_ago=29)
    with django_capture_on_commit_callbacks(execute=False):
        request = extension_request(acting_user=world_a.rep1, customer=customer, reason="下周签约")
        with pytest.raises(DomainError):
            extension_request(acting_user=world_a.rep1, customer=customer, reason="再来一次")
        approval = ApprovalRequest.objects.get(kind="pool.extension", object_id=request.pk)
        with pytest.raises(PermissionDenied):
            approval_decide(acting_user=world_a.rep2, request_id=approval.pk, step=1, approve=True)
        approval_decide(acting_user=world_a.manager, request_id=approval.pk, step=1, approve=True)
    customer.refresh_from_db()
    assert customer.extension_days == 10
    assert ExtensionRequest.objects.get(pk=request.pk).status == "approved"
    assert OwnershipEvent.objects.filter(customer=customer, reason="extension").count() == 1
    assert customer not in set(fallback_due(pool, days_ahead=5))
    assert customer in set(fallback_due(pool, days_ahead=11))


@pytest.mark.django_db
def test_view_limit_counts_distinct_customers_per_day(world_a):
    pool_for(world_a, daily_view_limit=2)
    customers = pooled(world_a, "查看", 3)
    assert record_pool_view(user=world_a.rep1, customer=customers[0]) == 1
    assert record_pool_view(user=world_a.rep1, customer=customers[0]) == 1  # same one again
    assert record_pool_view(user=world_a.rep1, customer=customers[1]) == 0
    with pytest.raises(ClaimRefused):
        record_pool_view(user=world_a.rep1, customer=customers[2])


@pytest.mark.django_db
def test_deactivated_users_customers_go_to_the_receiving_pool(world_a, django_capture_on_commit_callbacks):
    receiver = Pool.objects.create(tenant=world_a.tenant, name="离职池", receives_deactivated=True)
    customer = owned(world_a, world_a.rep1, "离职客户")
    user_set_active(acting_user=world_a.admin, user=world_a.rep1, active=False)
    customer.refresh_from_db()
    assert customer.owner is None and customer.pool == receiver
    assert OwnershipEvent.objects.filter(customer=customer, reason="release", to_pool=receiver).exists()


@pytest.mark.django_db
def test_manager_assigns_pool_customers_within_cap(world_a, django_capture_on_commit_callbacks):
    pool_for(world_a)
    customers = pooled(world_a, "分配", 3)
    world_a.tenant.max_customers_per_rep = 2
    world_a.tenant.save()
    world_a.rep1.refresh_from_db()
    with pytest.raises(DomainError):
        customer_assign(acting_user=world_a.manager, customer_ids=[c.pk for c in customers], rep=world_a.rep1)
    assert not Customer.objects.filter(owner=world_a.rep1).exists()
    with django_capture_on_commit_callbacks(execute=False):
        n = customer_assign(acting_user=world_a.manager, customer_ids=[customers[0].pk], rep=world_a.rep1)
    assert n == 1
    assert OwnershipEvent.objects.filter(reason="assign", to_owner=world_a.rep1, actor=world_a.manager).count() == 1
    with pytest.raises(PermissionDenied):
        customer_assign(acting_user=world_a.rep2, customer_ids=[customers[1].pk], rep=world_a.rep2)


@pytest.mark.django_db
def test_warning_job_acts_once_a_day_after_nine_local(world_a, django_capture_on_commit_callbacks):
    pool_for(world_a, no_followup_days=30, warn_days_before=5)
    owned(world_a, world_a.rep1, "提醒公司", owned_days_ago=60, followed_days_ago=26)
    tz = world_a.tenant.tzinfo
    early_morning = timezone.localtime(timezone.now(), tz).replace(hour=7, minute=0)
    later = early_morning.replace(hour=10)
    with django_capture_on_commit_callbacks(execute=False):
        assert warn_run(tenant=world_a.tenant, now=early_morning) == {"early": 0, "last_day": 0}
        assert warn_run(tenant=world_a.tenant, now=later)["early"] == 1
        assert warn_run(tenant=world_a.tenant, now=later.replace(hour=11)) == {"early": 0, "last_day": 0}


@pytest.mark.django_db(transaction=True)
def test_claims_racing_the_fallback_job_leave_a_consistent_history():
    """A colleague keeps trying to claim a customer while the fallback job moves it to the pool: whatever the
    interleaving, the history is create → fallback (→ claim), the owner matches the last event, and nothing doubles."""
    world = build_world("Q")
    pool_for(world, no_followup_days=30)
    for round_ in range(10):
        customer = owned(world, world.rep1, f"赛跑{round_}", owned_days_ago=60, followed_days_ago=40)
        barrier = threading.Barrier(2)

        def run_job():
            try:
                barrier.wait()
                fallback_run(tenant=world.tenant)
            finally:
                connection.close()

        def keep_claiming(customer_id=customer.pk):
            try:
                barrier.wait()
                for _ in range(200):
                    try:
                        customer_claim(rep=world.rep2, customer_id=customer_id)
                        return
                    except (Customer.DoesNotExist, ClaimRefused):
                        continue
            finally:
                connection.close()

        threads = [threading.Thread(target=run_job), threading.Thread(target=keep_claiming)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        reasons = list(
            OwnershipEvent.objects.filter(customer=customer).order_by("at", "pk").values_list("reason", flat=True)
        )
        customer.refresh_from_db()
        assert reasons in (["create", "fallback", "claim"], ["create", "fallback"]), reasons
        assert customer.owner_id == (world.rep2.pk if reasons[-1] == "claim" else None)


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_waits_for_the_row_lock_is_dated_after_the_event_that_held_it():
    """An admin's move of a pool customer holds its row; a rep's claim arriving meanwhile waits for it and is stamped
    only once it holds the row itself, so the history reads transfer → claim, never the other way round."""
    world = build_world("W")
    pool_for(world)
    other = Pool.objects.create(tenant=world.tenant, name="华南公海")
    PoolTeam.objects.create(tenant=world.tenant, pool=other, team=world.sales)
    (customer,) = pooled(world, "锁等待")
    locked, go = threading.Event(), threading.Event()

    def admin_moves():
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=customer.pk)
                locked.set()
                go.wait()
                move_to_pool(acting_user=world.admin, customer_ids=[customer.pk], pool=other)
        finally:
            connection.close()

    def rep_claims():
        try:
            customer_claim(rep=world.rep2, customer_id=customer.pk)
        finally:
            connection.close()

    mover = threading.Thread(target=admin_moves)
    mover.start()
    assert locked.wait(60)
    claimer = threading.Thread(target=rep_claims)
    claimer.start()
    blocked = wait_until_blocked()
    go.set()
    mover.join()
    claimer.join()
    assert blocked
    events = list(
        OwnershipEvent.objects.filter(customer=customer).order_by("at", "pk").values_list("reason", "at", "pk")
    )
    assert [e[0] for e in events] == ["create", "transfer", "claim"], events
    transfer, claim = events[1], events[2]
    assert claim[1] >= transfer[1] and claim[2] > transfer[2]


@pytest.mark.django_db
def test_a_pool_with_only_level_rules_falls_back_too(world_a, django_capture_on_commit_callbacks):
    from customers.models import CustomerLevel

    pool = pool_for(world_a)  # no default rule
    level_c = CustomerLevel.objects.get(tenant=world_a.tenant, code="C")
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_c, no_followup_days=15)
    small = owned(world_a, world_a.rep1, "小客户", owned_days_ago=60, followed_days_ago=20, level=level_c)
    other = owned(world_a, world_a.rep1, "无级别", owned_days_ago=60, followed_days_ago=50)
    with django_capture_on_commit_callbacks(execute=False):
        assert fallback_run(tenant=world_a.tenant) == 1
    small.refresh_from_db()
    other.refresh_from_db()
    assert small.owner is None and other.owner == world_a.rep1


@pytest.mark.django_db(transaction=True)
def test_hourly_fallback_reaches_every_tenant_through_a_real_worker(celery_worker):
    """The dispatcher reads the tenant list; each tenant's run happens in its context, as the app role."""
    from customers.tasks import fallback_to_pool

    stale = []
    for prefix in ("F", "G"):
        world = build_world(prefix)
        pool_for(world, no_followup_days=30)
        stale.append(owned(world, world.rep1, f"{prefix} 过期", owned_days_ago=60, followed_days_ago=40))
    fallback_to_pool.delay()
    assert wait_for(lambda: not Customer.objects.filter(pk__in=[c.pk for c in stale], owner__isnull=False).exists())
    assert OwnershipEvent.objects.filter(customer__in=stale, reason="fallback").count() == 2
