"""The daily reveal cap and sales writes under real concurrency: real threads on their own connections, released
together by a barrier, against the real database."""

import threading

import pytest
from django.db import connection

from crm.errors import DomainError
from crm.models import Role
from customers.models import PersonalDataReveal
from customers.services.customer import customer_create
from customers.services.privacy import RevealRefused, personal_data_reveal

from ..conftest import build_world
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
