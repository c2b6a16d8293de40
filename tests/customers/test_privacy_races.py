"""The daily reveal cap, and sales writes racing a transfer, under real concurrency: real threads on their own connections, released
together by a barrier, against the real database."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from crm.errors import DomainError
from crm.models import Role
from customers.models import PersonalDataReveal
from customers.services.customer import customer_create
from customers.services.privacy import RevealRefused, personal_data_reveal
from customers.services.transfer import customer_transfer
from sales.models import FollowUp, Opportunity, Order
from sales.services.followup import followup_log
from sales.services.opportunity import opportunity_create
from sales.services.order import order_create
from sales.services.pipeline import ensure_default_pipeline

from ..conftest import build_world, wait_until_blocked
from ..factories import UserFactory


def run_together(*targets):
    """Start one thread per target, released at the same moment; wait for all of them."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def runner(target):
        try:
            barrier.wait()
            target()
        except DomainError as exc:  # a refusal, collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_reveals_at_the_last_one_left_exactly_one_succeeds():
    world = build_world("V")
    world.tenant.daily_reveal_limit = 3
    world.tenant.save()
    customer = customer_create(
        acting_user=world.rep1,
        data={"name": "并发揭示"},
        contact={"name": "王芳", "mobile": "13912345678", "email": "wangfang@reveal.test", "phone": "057188886666"},
    )
    contact = customer.contacts.get()
    other = customer_create(
        acting_user=world.rep1, data={"name": "另一家"}, contact={"name": "李雷", "mobile": "13711112222"}
    )
    manager = world.manager
    # cap - 1 used: two fields of today's reveals.
    personal_data_reveal(user=manager, contact=contact, fields=["mobile", "email"])
    for _round in range(5):
        PersonalDataReveal.objects.filter(user=manager, contact=other.contacts.get()).delete()
        PersonalDataReveal.objects.filter(user=manager, field="phone").delete()
        revealed = []

        def reveal_phone():
            revealed.append(personal_data_reveal(user=manager, contact=contact, fields=["phone"]))

        def reveal_other():
            revealed.append(personal_data_reveal(user=manager, contact=other.contacts.get(), fields=["mobile"]))

        errors = run_together(reveal_phone, reveal_other)
        assert len(revealed) == 1 and len(errors) == 1, (revealed, errors)
        assert isinstance(errors[0], RevealRefused)
        used = PersonalDataReveal.objects.filter(user=manager).values("contact_id", "field").distinct().count()
        assert used == 3


@pytest.mark.django_db(transaction=True)
def test_a_second_users_reveals_do_not_wait_for_or_count_against_the_first():
    world = build_world("W")
    world.tenant.daily_reveal_limit = 1
    world.tenant.save()
    customer = customer_create(
        acting_user=world.rep1, data={"name": "各自上限"}, contact={"name": "赵敏", "mobile": "13612345678"}
    )
    contact = customer.contacts.get()
    other_manager = UserFactory(tenant=world.tenant, team=world.sales, roles=[Role.MANAGER])
    errors = run_together(
        lambda: personal_data_reveal(user=world.manager, contact=contact, fields=["mobile"]),
        lambda: personal_data_reveal(user=other_manager, contact=contact, fields=["mobile"]),
    )
    assert errors == []
    assert PersonalDataReveal.objects.count() == 2


# --- sales writes against a transfer -------------------------------------------------------------------------


def _log_follow_up(rep, customer):
    followup_log(acting_user=rep, kind="call", content="电话沟通", customer=customer)


def _create_order(rep, customer):
    order_create(
        acting_user=rep,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency=rep.tenant.currency,
        amount=Decimal("100"),
    )


def _create_opportunity(rep, customer):
    opportunity_create(
        acting_user=rep, customer=customer, name="并发商机", pipeline=ensure_default_pipeline(rep.tenant)
    )


@pytest.mark.parametrize("write", [_log_follow_up, _create_order, _create_opportunity])
@pytest.mark.django_db(transaction=True)
def test_a_sales_write_racing_a_transfer_waits_for_it_and_is_refused(write):
    world = build_world("X")
    customer = customer_create(acting_user=world.rep1, data={"name": "转移中客户"})
    rep1 = world.rep1
    rep1.refresh_from_db()
    moved, go = threading.Event(), threading.Event()
    outcome = []

    def transfer():
        try:
            with transaction.atomic():
                customer_transfer(acting_user=world.manager, customers=[customer], to_owner=world.rep2, reason="调岗")
                moved.set()
                assert go.wait(60)
        finally:
            moved.set()
            connection.close()

    def sales_write():
        try:
            assert moved.wait(60)
            write(rep1, customer)
            outcome.append("written")
        except PermissionDenied:
            outcome.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=transfer), threading.Thread(target=sales_write)]
    for t in threads:
        t.start()
    # The write reaches the customer's row while the transfer holds it, and waits.
    blocked = wait_until_blocked(1)
    go.set()
    for t in threads:
        t.join()
    assert blocked
    assert outcome == ["refused"]
    customer.refresh_from_db()
    assert customer.owner_id == world.rep2.pk
    assert not FollowUp.objects.filter(customer=customer).exists()
    assert not Order.objects.filter(customer=customer).exists()
    assert not Opportunity.objects.filter(customer=customer).exists()
    assert customer.last_followed_up_at is None and customer.last_deal_at is None
