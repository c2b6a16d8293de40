"""An edit that races a merge or a move to the bin waits for it and then refuses: the binned customer is never
changed, and its identifiers never come back to life to block the name or phone for everyone."""

import threading

import pytest
from django.db import connection, transaction

from customers.access import CustomerGone
from customers.models import Contact, Customer, CustomerIdentifier
from customers.services.contact import contact_delete, contact_save
from customers.services.customer import customer_create, customer_update
from customers.services.merge import customer_merge
from customers.services.trash import customer_trash
from tests.conftest import wait_until_blocked


def race(write, edit) -> dict:
    """`write` (a merge or a move to the bin) holds the customer's row until `edit` is seen waiting for it, then
    commits; returns what `edit` returned or raised."""
    written, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def first():
        try:
            with transaction.atomic():
                write()
                written.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def second():
        try:
            written.wait(timeout=60)
            outcome["result"] = edit()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts on
            outcome["error"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        assert written.wait(timeout=60)
        assert wait_until_blocked(), "the edit never waited for the row lock"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    return outcome


@pytest.fixture
def pair(world_a):
    keep = customer_create(
        acting_user=world_a.rep1, data={"name": "留下的公司"}, contact={"name": "甲", "mobile": "13911110000"}
    )
    gone = customer_create(
        acting_user=world_a.rep1, data={"name": "被合并的公司"}, contact={"name": "乙", "mobile": "13922220000"}
    )
    return keep, gone


def assert_gone_untouched(gone: Customer) -> None:
    after = Customer.objects.get(pk=gone.pk)
    assert after.deleted_at is not None and after.name == gone.name
    assert not CustomerIdentifier.objects.filter(customer=gone).exists()


@pytest.mark.django_db(transaction=True)
def test_an_edit_racing_a_merge_refuses(world_a, pair):
    keep, gone = pair
    outcome = race(
        lambda: customer_merge(acting_user=world_a.manager, keep=keep, merge=gone),
        lambda: customer_update(acting_user=world_a.rep1, customer=gone, data={"name": "抢改的名字"}),
    )
    assert isinstance(outcome.get("error"), CustomerGone), outcome
    assert_gone_untouched(gone)
    # The merged name is free again: a new customer may take it.
    assert customer_create(acting_user=world_a.rep2, data={"name": "被合并的公司"}).pk


@pytest.mark.django_db(transaction=True)
def test_a_contact_added_while_the_customer_goes_to_the_bin_refuses(world_a, pair):
    _keep, gone = pair
    outcome = race(
        lambda: customer_trash(acting_user=world_a.rep1, customer=gone),
        lambda: contact_save(acting_user=world_a.rep1, customer=gone, data={"name": "丙", "mobile": "13933330000"}),
    )
    assert isinstance(outcome.get("error"), CustomerGone), outcome
    assert_gone_untouched(gone)
    assert not Contact.objects.filter(name="丙").exists()


@pytest.mark.django_db(transaction=True)
def test_a_contact_removed_while_its_customer_is_merged_refuses(world_a, pair):
    keep, gone = pair
    contact = Contact.objects.get(customer=gone)
    outcome = race(
        lambda: customer_merge(acting_user=world_a.manager, keep=keep, merge=gone),
        lambda: contact_delete(acting_user=world_a.rep1, contact=contact),
    )
    assert isinstance(outcome.get("error"), CustomerGone), outcome
    # The contact moved to the customer kept, and stays there.
    assert Contact.objects.get(pk=contact.pk).customer_id == keep.pk
    assert_gone_untouched(gone)


@pytest.mark.django_db
def test_editing_a_binned_customer_or_its_contacts_refuses(world_a, pair):
    _keep, gone = pair
    contact = Contact.objects.get(customer=gone)
    customer_trash(acting_user=world_a.rep1, customer=gone)
    with pytest.raises(CustomerGone):
        customer_update(acting_user=world_a.rep1, customer=gone, data={"name": "改名"})
    with pytest.raises(CustomerGone):
        contact_save(acting_user=world_a.rep1, customer=gone, contact=contact, data={"name": "改名"})
    assert_gone_untouched(gone)
