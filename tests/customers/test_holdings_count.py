"""The count of customers held per owner (customers.Holding), kept by the database's statement triggers: every write
path keeps it equal to a real count (live owned customers, per owner), set-based moves included; two transactions
moving customers of the same owner at once never lose a change; the check and repair command; the cap reads it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from crm.tenancy import tenant_context
from customers.models import Customer, Holding
from customers.services.customer import customer_create
from customers.services.fallback import fallback_run
from customers.services.holdings import holdings_drift, holdings_of, holdings_repair
from customers.services.merge import customer_merge
from customers.services.pool import customer_assign, customer_claim, customer_release
from customers.services.transfer import customer_transfer
from customers.services.trash import customer_restore, customer_trash, purge_trash

from .. import app_role
from ..conftest import build_world, wait_until_blocked
from .test_pool import owned, pool_for, pooled


def real(world) -> dict[int, int]:
    """What the count must say: live owned customers per owner, counted."""
    rows = Customer.objects.filter(tenant=world.tenant, owner__isnull=False, deleted_at__isnull=True)
    counts: dict[int, int] = {}
    for owner_id in rows.values_list("owner_id", flat=True):
        counts[owner_id] = counts.get(owner_id, 0) + 1
    return counts


def kept(world) -> dict[int, int]:
    return dict(Holding.objects.filter(tenant=world.tenant).exclude(held=0).values_list("owner_id", "held"))


def assert_agrees(world) -> None:
    assert kept(world) == real(world)
    assert holdings_drift(world.tenant.pk) == []


@pytest.mark.django_db
def test_every_write_path_keeps_the_count(world_a, world_b):
    w, rep1, rep2 = world_a, world_a.rep1, world_a.rep2
    pool_for(w, no_followup_days=30)
    mine = [customer_create(acting_user=rep1, data={"name": f"持有{i}"}) for i in range(4)]
    waiting = pooled(w, "公海", 3)
    customer_create(acting_user=world_b.rep1, data={"name": "别家"})
    assert kept(w) == {rep1.pk: 4} and kept(world_b) == {world_b.rep1.pk: 1}
    assert_agrees(w)

    customer_claim(rep=rep2, customer_id=waiting[0].pk)
    customer_assign(acting_user=w.manager, customer_ids=[waiting[1].pk], rep=rep1)
    assert kept(w) == {rep1.pk: 5, rep2.pk: 1}
    customer_release(acting_user=rep1, customer=mine[0], reason="不合适")
    customer_transfer(acting_user=w.manager, customers=mine[1:3], to_owner=rep2, reason="调岗")
    assert kept(w) == {rep1.pk: 2, rep2.pk: 3}
    assert_agrees(w)

    customer_trash(acting_user=rep1, customer=mine[3])  # the recycle bin holds it: no longer held
    assert kept(w) == {rep1.pk: 1, rep2.pk: 3}
    customer_restore(acting_user=w.manager, customer=Customer.objects.get(pk=mine[3].pk))
    assert kept(w) == {rep1.pk: 2, rep2.pk: 3}
    customer_merge(acting_user=w.manager, keep=mine[1], merge=Customer.objects.get(pk=mine[3].pk))
    assert kept(w) == {rep1.pk: 1, rep2.pk: 3}
    assert_agrees(w)

    old = owned(w, rep1, "久未跟进", owned_days_ago=60, followed_days_ago=45)
    assert kept(w)[rep1.pk] == 2
    assert fallback_run(tenant=w.tenant) == 1
    old.refresh_from_db()
    assert old.owner_id is None and kept(w)[rep1.pk] == 1
    assert_agrees(w)

    # The purge removes what the bin held for long enough: nothing anyone held.
    Customer.objects.filter(deleted_at__isnull=False).update(deleted_at=timezone.now() - dt.timedelta(days=400))
    purge_trash(tenant=w.tenant)
    assert_agrees(w)
    assert kept(world_b) == {world_b.rep1.pk: 1}  # the other company's count was never touched


@pytest.mark.django_db
def test_set_based_writes_count_once_per_statement(world_a):
    w = world_a
    pool = pool_for(w)
    Customer.objects.bulk_create(
        Customer(tenant=w.tenant, name=f"批量{i}", owner=w.rep1 if i % 3 else w.rep2, pool=pool) for i in range(300)
    )
    assert kept(w) == {w.rep1.pk: 200, w.rep2.pk: 100}
    # One UPDATE moving many rows between owners, one soft-deleting, one hard DELETE, one changing nothing held.
    Customer.objects.filter(tenant=w.tenant, owner=w.rep2).update(owner=w.rep1)
    assert kept(w) == {w.rep1.pk: 300}
    ids = list(Customer.objects.filter(tenant=w.tenant).order_by("pk").values_list("pk", flat=True))
    Customer.objects.filter(pk__in=ids[:50]).update(deleted_at=timezone.now())
    Customer.objects.filter(pk__in=ids[40:60]).delete()  # 10 of them in the bin, 10 held
    Customer.objects.filter(pk__in=ids[100:150]).update(owner=None)
    Customer.objects.filter(tenant=w.tenant).update(notes="只改备注")
    assert kept(w) == {w.rep1.pk: 300 - 50 - 10 - 50}
    assert Holding.objects.get(tenant=w.tenant, owner=w.rep2).held == 0  # the row stays, at zero
    assert_agrees(w)


@pytest.mark.django_db
def test_the_cap_and_the_pickers_read_the_count(world_a):
    w = world_a
    customer_create(acting_user=w.rep1, data={"name": "一"})
    assert holdings_of(w.tenant.pk, [w.rep1.pk, w.rep2.pk]) == {w.rep1.pk: 1}
    Holding.objects.filter(tenant=w.tenant, owner=w.rep1).update(held=7)  # a drifted count is what they read
    assert holdings_of(w.tenant.pk, [w.rep1.pk]) == {w.rep1.pk: 7}


@pytest.mark.django_db
def test_as_the_app_role_it_counts_within_the_tenant_context(world_a, world_b):
    w = world_a
    (customer,) = pooled(w, "公海")
    pool_for(w)
    with app_role.serving(), tenant_context(w.tenant.pk):
        customer_claim(rep=w.rep1, customer_id=customer.pk)
    assert kept(w) == {w.rep1.pk: 1}
    with app_role.serving(), tenant_context(world_b.tenant.pk), transaction.atomic():
        # Another company's context sees neither the customer nor the count: nothing to move, nothing counted.
        assert Customer.objects.filter(pk=customer.pk).update(owner=None) == 0
        assert not Holding.objects.filter(tenant=w.tenant).exists()
    assert kept(w) == {w.rep1.pk: 1}


@pytest.mark.django_db
def test_check_and_repair(world_a, world_b, capsys):
    w = world_a
    for i in range(3):
        customer_create(acting_user=w.rep1, data={"name": f"核对{i}"})
    customer_create(acting_user=world_b.rep1, data={"name": "别家"})
    call_command("holdings")
    assert "Holdings agree." in capsys.readouterr().out

    Holding.objects.filter(tenant=w.tenant, owner=w.rep1).update(held=9)
    Holding.objects.filter(tenant=world_b.tenant).delete()
    with pytest.raises(CommandError, match="2 owners' counts differ") as error:
        call_command("holdings")
    assert error.value.returncode == 1
    out = capsys.readouterr().out
    assert f"user {w.rep1.pk}: counted 9, holds 3" in out and f"user {world_b.rep1.pk}: counted 0, holds 1" in out

    call_command("holdings", "--repair", "--tenant", w.tenant.slug)
    assert kept(w) == {w.rep1.pk: 3} and holdings_drift(world_b.tenant.pk)
    call_command("holdings", "--repair")
    assert kept(world_b) == {world_b.rep1.pk: 1}
    assert holdings_repair(w.tenant.pk) == 0
    call_command("holdings")
    with pytest.raises(CommandError, match="No company"):
        call_command("holdings", "--tenant", "nobody")


def _in_thread(target, *args) -> threading.Thread:
    def run():
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_of_one_owners_customers_never_lose_a_count():
    """Threads with their own connections move customers of the same owners at once, each transaction a set-based
    statement or a service, many rounds: the count ends equal to the real count every time."""
    w = build_world("H")
    pool = pool_for(w)
    Customer.objects.bulk_create(
        Customer(tenant=w.tenant, name=f"并发{i}", owner=w.rep1, pool=pool) for i in range(8 * 12 * 3)
    )
    ids = list(Customer.objects.filter(tenant=w.tenant).order_by("pk").values_list("pk", flat=True))
    workers = 8
    for round_ in range(12):
        barrier = threading.Barrier(workers)
        errors = []

        def move(n, round_=round_, barrier=barrier, errors=errors):
            mine = ids[(round_ * workers + n) * 3 : (round_ * workers + n + 1) * 3]
            try:
                barrier.wait()
                with tenant_context(w.tenant.pk), transaction.atomic():
                    if n % 4 == 0:  # to the other rep
                        Customer.objects.filter(pk__in=mine).update(owner=w.rep2)
                    elif n % 4 == 1:  # back to the pool
                        Customer.objects.filter(pk__in=mine).update(owner=None)
                    elif n % 4 == 2:  # into the recycle bin
                        Customer.objects.filter(pk__in=mine).update(deleted_at=timezone.now())
                    else:  # new customers for both reps, in one statement
                        Customer.objects.bulk_create(
                            Customer(tenant=w.tenant, name=f"新{round_}-{n}-{i}", owner=owner, pool=pool)
                            for i, owner in enumerate((w.rep2, w.rep1, w.rep2))
                        )
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [_in_thread(move, n) for n in range(workers)]
        for thread in threads:
            thread.join()
        assert errors == []
        assert_agrees(w)
    assert kept(w)[w.rep2.pk] > 0 and kept(w)[w.rep1.pk] > 0


@pytest.mark.django_db(transaction=True)
def test_a_second_move_waits_for_the_first_and_adds_to_what_it_committed():
    """The second transaction moving the same owner's customers waits on the count's row until the first commits,
    then adds to the committed value (not to the one it would have read before)."""
    w = build_world("W")
    pool = pool_for(w)
    Customer.objects.bulk_create(Customer(tenant=w.tenant, name=f"等{i}", owner=w.rep1, pool=pool) for i in range(10))
    ids = list(Customer.objects.filter(tenant=w.tenant).order_by("pk").values_list("pk", flat=True))
    first_moved, release = threading.Event(), threading.Event()

    def first():
        with tenant_context(w.tenant.pk), transaction.atomic():
            Customer.objects.filter(pk__in=ids[:4]).update(owner=None)
            first_moved.set()
            release.wait(30)

    def second():
        first_moved.wait(30)
        with tenant_context(w.tenant.pk), transaction.atomic():
            Customer.objects.filter(pk__in=ids[4:7]).update(owner=w.rep2)

    threads = [_in_thread(first), _in_thread(second)]
    assert wait_until_blocked(1)
    assert Holding.objects.get(tenant=w.tenant, owner=w.rep1).held == 10  # neither has committed
    release.set()
    for thread in threads:
        thread.join()
    assert kept(w) == {w.rep1.pk: 3, w.rep2.pk: 3}
    assert_agrees(w)


@pytest.mark.django_db(transaction=True)
def test_repair_beside_concurrent_moves_keeps_their_changes():
    """A repair running while other transactions move customers corrects the drift without undoing their moves."""
    w = build_world("R")
    pool = pool_for(w)
    Customer.objects.bulk_create(
        Customer(tenant=w.tenant, name=f"修{i}", owner=w.rep1, pool=pool) for i in range(6 * 10)
    )
    ids = list(Customer.objects.filter(tenant=w.tenant).order_by("pk").values_list("pk", flat=True))
    for round_ in range(10):
        Holding.objects.filter(tenant=w.tenant, owner=w.rep1).update(held=-round_ - 1000)  # drifted
        barrier = threading.Barrier(3)

        def repair(barrier=barrier):
            barrier.wait()
            with tenant_context(w.tenant.pk), transaction.atomic():
                holdings_repair(w.tenant.pk)

        def move(part, barrier=barrier, round_=round_):
            mine = ids[round_ * 6 + part * 3 : round_ * 6 + part * 3 + 3]
            barrier.wait()
            with tenant_context(w.tenant.pk), transaction.atomic():
                Customer.objects.filter(pk__in=mine).update(owner=w.rep2)

        threads = [_in_thread(repair), _in_thread(move, 0), _in_thread(move, 1)]
        for thread in threads:
            thread.join()
        assert_agrees(w)
