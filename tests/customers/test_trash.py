"""The recycle bin: who sees what, restore with the duplicate re-check, the 30-day window and the nightly purge
(through the tasks, and the dispatcher through a real Celery worker)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEvent
from customers.models import Contact, Customer, CustomerIdentifier, OwnershipEvent
from customers.services.customer import customer_create
from customers.services.trash import TRASH_DAYS, customer_trash
from customers.tasks import purge_tenant_trash, purge_trash_dispatch

from ..conftest import build_world, wait_for

TRASH = reverse("customers:trash")


def make(user, name, mobile=""):
    contact = {"name": f"{name}联系人", "mobile": mobile} if mobile else None
    return customer_create(acting_user=user, data={"name": name}, contact=contact)


def trashed(user, name, mobile="", days_ago=0):
    customer = make(user, name, mobile)
    customer_trash(acting_user=user, customer=customer)
    if days_ago:
        Customer.objects.filter(pk=customer.pk).update(deleted_at=timezone.now() - timedelta(days=days_ago))
    customer.refresh_from_db()
    return customer


def restore_url(customer):
    return reverse("customers:restore", args=[customer.pk])


# --- the bin page --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bin_lists_what_each_user_may_restore(world_a, world_b, client_for):
    mine = trashed(world_a.rep1, "一组删除的客户", days_ago=10)
    theirs = trashed(world_a.rep2, "二组删除的客户")
    admins = trashed(world_a.admin, "管理员删除的客户")
    trashed(world_b.rep1, "别家删除的客户")
    make(world_a.rep1, "还活着的客户")

    def listed(user):
        return {c.name for c in client_for(user).get(TRASH).context["page"]}

    assert listed(world_a.rep1) == {mine.name}
    assert listed(world_a.rep2) == {theirs.name}
    assert listed(world_a.manager) == {mine.name, theirs.name}
    assert listed(world_a.admin) == {mine.name, theirs.name, admins.name}
    assert listed(world_a.agent) == set()

    r = client_for(world_a.rep1).get(TRASH)
    row = r.context["page"][0]
    assert row.deleted_by == world_a.rep1 and row.days_left == TRASH_DAYS - 10
    body = r.content.decode()
    assert mine.name in body and world_a.rep1.full_name in body and restore_url(mine) in body


@pytest.mark.django_db
def test_bin_search_by_name(world_a, client_for):
    trashed(world_a.rep1, "杭州云帆科技")
    trashed(world_a.rep1, "上海海鸥贸易")
    r = client_for(world_a.rep1).get(TRASH, {"q": "云帆"})
    assert [c.name for c in r.context["page"]] == ["杭州云帆科技"]


@pytest.mark.django_db
def test_bin_queries_do_not_grow_with_rows(world_a, client_for, django_assert_max_num_queries):
    c = client_for(world_a.manager)
    for i in range(5):
        trashed(world_a.rep1 if i % 2 else world_a.rep2, f"删除客户{i}")
    with django_assert_max_num_queries(15) as five:
        assert c.get(TRASH).status_code == 200
    for i in range(5, 50):
        trashed(world_a.rep1 if i % 2 else world_a.rep2, f"删除客户{i}")
    with django_assert_max_num_queries(len(five.captured_queries)):
        r = c.get(TRASH)
    assert len(r.context["page"]) == 50


# --- restore -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_restore_brings_the_customer_back_with_its_identifiers(world_a, client_for):
    customer = trashed(world_a.rep1, "杭州云帆科技", mobile="13812345678")
    assert not CustomerIdentifier.objects.filter(customer=customer).exists()
    r = client_for(world_a.rep1).post(restore_url(customer))
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[customer.pk])
    customer.refresh_from_db()
    assert customer.deleted_at is None and customer.deleted_by is None
    assert CustomerIdentifier.objects.filter(customer=customer, kind="phone", value="+8613812345678").exists()
    assert OwnershipEvent.objects.filter(customer=customer, reason=OwnershipEvent.Reason.RESTORE).exists()
    assert AuditEvent.objects.filter(action="customer.restore", object_id=str(customer.pk)).exists()


@pytest.mark.django_db
def test_restore_refuses_a_duplicate_and_says_who_holds_it(world_a, client_for):
    old = trashed(world_a.rep1, "旧客户", mobile="13812345678")
    newer = make(world_a.rep2, "新客户", mobile="138 1234 5678")
    c = client_for(world_a.rep1)
    r = c.post(restore_url(old), follow=True)
    assert r.status_code == 200
    message = " ".join(str(m) for m in r.context["messages"])
    # rep1 may not see rep2's customer: told who holds the phone, not the customer's name.
    assert world_a.rep2.full_name in message and newer.name not in message
    old.refresh_from_db()
    assert old.deleted_at is not None  # still in the bin, nothing lost
    assert CustomerIdentifier.objects.get(kind="phone", value="+8613812345678").customer == newer

    # A manager sees the holder, but its phone masked: told who holds it, not which customer (that would confirm
    # the masked number).
    r = client_for(world_a.manager).post(restore_url(old), follow=True)
    message = " ".join(str(m) for m in r.context["messages"])
    assert world_a.rep2.full_name in message and newer.name not in message


@pytest.mark.django_db
def test_restore_is_post_only_and_scoped(world_a, world_b, client_for):
    customer = trashed(world_a.rep1, "一组删除的客户")
    assert client_for(world_a.rep1).get(restore_url(customer)).status_code == 405
    # Another tenant's id and a colleague's deletion both answer 404; nothing changes.
    for user in (world_b.admin, world_b.manager, world_b.rep1, world_a.rep2):
        assert client_for(user).post(restore_url(customer)).status_code == 404
    live = make(world_a.rep1, "还活着的客户")
    assert client_for(world_a.rep1).post(restore_url(live)).status_code == 404
    customer.refresh_from_db()
    assert customer.deleted_at is not None


@pytest.mark.django_db
def test_restore_after_the_window_is_refused(world_a, client_for):
    customer = trashed(world_a.rep1, "过期客户", days_ago=TRASH_DAYS + 1)
    world_a.rep1.language = "en"
    world_a.rep1.save(update_fields=["language"])
    c = client_for(world_a.rep1)
    row = c.get(TRASH).context["page"][0]
    assert row.days_left == 0 and restore_url(customer) not in c.get(TRASH).content.decode()
    r = c.post(restore_url(customer), follow=True)
    assert "can no longer be restored" in " ".join(str(m) for m in r.context["messages"])
    customer.refresh_from_db()
    assert customer.deleted_at is not None


# --- the nightly purge ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_purge_task_removes_only_what_is_older_than_the_window(world_a, world_b):
    old = trashed(world_a.rep1, "过期客户", mobile="13812345678", days_ago=TRASH_DAYS + 1)
    recent = trashed(world_a.rep1, "最近删除", days_ago=TRASH_DAYS - 1)
    other_tenant = trashed(world_b.rep1, "别家过期客户", days_ago=TRASH_DAYS + 1)
    live = make(world_a.rep1, "还活着的客户")

    assert purge_tenant_trash(world_a.tenant.pk) == {"customers": 1, "exports": 0}
    assert not Customer.objects.filter(pk=old.pk).exists()
    assert not Contact.objects.filter(customer_id=old.pk).exists()
    assert not OwnershipEvent.objects.filter(customer_id=old.pk).exists()
    assert set(Customer.objects.filter(tenant=world_a.tenant)) == {recent, live}
    assert Customer.objects.filter(pk=other_tenant.pk).exists()  # one tenant at a time
    event = AuditEvent.objects.get(action="trash.purge")
    assert event.tenant == world_a.tenant and event.details["items"] == [old.pk]
    assert event.details["item_names"] == {str(old.pk): old.name}

    # Idempotent: a second run finds nothing.
    assert purge_tenant_trash(world_a.tenant.pk) == {"customers": 0, "exports": 0}
    assert AuditEvent.objects.filter(action="trash.purge").count() == 1


@pytest.mark.django_db(transaction=True)
def test_nightly_dispatcher_purges_every_tenant_through_a_real_worker(celery_worker):
    a, b = build_world("P"), build_world("Q")
    old_a = trashed(a.rep1, "P 过期客户", days_ago=TRASH_DAYS + 2)
    old_b = trashed(b.rep1, "Q 过期客户", days_ago=TRASH_DAYS + 2)
    keep = trashed(a.rep1, "P 最近删除", days_ago=1)

    assert purge_trash_dispatch.delay() is not None
    assert wait_for(lambda: not Customer.objects.filter(pk__in=[old_a.pk, old_b.pk]).exists()), "nothing purged"
    assert Customer.objects.filter(pk=keep.pk).exists()
    assert set(AuditEvent.objects.filter(action="trash.purge").values_list("tenant_id", flat=True)) == {
        a.tenant.pk,
        b.tenant.pk,
    }


@pytest.mark.django_db
def test_a_purge_of_many_is_one_sentence_in_the_audit_log_listing_them(world_a, client_for):
    from django.urls import reverse

    old = [trashed(world_a.rep1, f"过期客户{i}", days_ago=TRASH_DAYS + 1) for i in range(3)]
    assert purge_tenant_trash(world_a.tenant.pk)["customers"] == 3
    event = AuditEvent.objects.get(action="trash.purge")
    assert not AuditEvent.objects.filter(action="customer.purge").exists()
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    c = client_for(world_a.admin)
    log = c.get(reverse("settings:audit")).content.decode()
    assert log.count("3 customers in the recycle bin were deleted for good") == 1
    assert "deleted 过期客户0 for good" not in log  # one sentence, not one row per customer
    items = c.get(reverse("settings:audit_items", args=[event.pk])).content.decode()
    assert all(customer.name in items for customer in old)
