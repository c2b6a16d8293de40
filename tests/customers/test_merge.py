"""Merging two customers: what moves, what the merged one becomes, who may do it, and refusals that change
nothing."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerTag,
    CustomerUserObjectPermission,
    OwnershipEvent,
    Tag,
)
from customers.services.contact import contact_save
from customers.services.customer import customer_create
from customers.services.identifier import DuplicateCustomer
from customers.services.merge import customer_merge, customer_merged
from customers.services.share import customer_share
from customers.services.trash import customer_trash


def make(user, name, mobile="", **data):
    contact = {"name": f"{name}联系人", "mobile": mobile} if mobile else None
    return customer_create(acting_user=user, data={"name": name, **data}, contact=contact)


def merge_url(customer):
    return reverse("customers:merge", args=[customer.pk])


@pytest.fixture
def pair(world_a):
    """Two records of the same company, held by reps of the manager's teams."""
    tenant = world_a.tenant
    vip, hot, cold = (Tag.objects.create(tenant=tenant, name=n) for n in ("VIP", "热", "冷"))
    keep = make(world_a.rep1, "杭州云帆科技", mobile="13812345678", region="杭州")
    merge = make(
        world_a.rep2, "云帆科技（杭州）", mobile="13912345678", industry="软件", credit_code="91330100MA27XY812X"
    )
    contact_save(
        acting_user=world_a.rep2,
        customer=merge,
        data={"name": "王五", "email": "wang@yunfan.test", "is_primary": False},
    )
    CustomerTag.objects.bulk_create(
        [
            CustomerTag(tenant=tenant, customer=keep, tag=vip),
            CustomerTag(tenant=tenant, customer=merge, tag=vip),
            CustomerTag(tenant=tenant, customer=merge, tag=hot),
        ]
    )
    customer_share(acting_user=world_a.rep2, customer=merge, with_user=world_a.agent)
    customer_share(acting_user=world_a.rep2, customer=merge, with_user=world_a.rep1)  # keep's owner
    return keep, merge, cold


def snapshot(*customers):
    ids = [c.pk for c in customers]
    return (
        sorted(Contact.objects.filter(customer_id__in=ids).values_list("pk", "customer_id", "is_primary")),
        sorted(CustomerTag.objects.filter(customer_id__in=ids).values_list("customer_id", "tag_id")),
        sorted(OwnershipEvent.objects.filter(customer_id__in=ids).values_list("pk", "customer_id")),
        sorted(CustomerIdentifier.objects.filter(customer_id__in=ids).values_list("customer_id", "kind", "value")),
        sorted(Customer.objects.filter(pk__in=ids).values_list("pk", "deleted_at", "industry", "notes")),
        AuditEvent.objects.filter(action="customer.merge").count(),
    )


# --- the service ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_moves_contacts_tags_history_shares_and_identifiers(world_a, pair):
    keep, merge, _ = pair
    merge_events = set(OwnershipEvent.objects.filter(customer=merge).values_list("pk", flat=True))
    received = []
    customer_merged.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="test-merge")
    try:
        result = customer_merge(acting_user=world_a.manager, keep=keep, merge=merge)
    finally:
        customer_merged.disconnect(dispatch_uid="test-merge")
    assert result.pk == keep.pk

    contacts = list(Contact.objects.filter(customer=keep))
    assert len(contacts) == 3 and not Contact.objects.filter(customer=merge).exists()
    assert [c.name for c in contacts if c.is_primary] == ["杭州云帆科技联系人"]  # keep's primary stays the only one
    assert set(CustomerTag.objects.filter(customer=keep).values_list("tag__name", flat=True)) == {"VIP", "热"}
    assert not CustomerTag.objects.filter(customer=merge).exists()
    assert merge_events <= set(OwnershipEvent.objects.filter(customer=keep).values_list("pk", flat=True))
    merge_event = OwnershipEvent.objects.filter(customer=keep, reason=OwnershipEvent.Reason.MERGE).get()
    assert merge_event.actor == world_a.manager and str(merge.pk) in merge_event.note

    # Shares move (never one for keep's own owner).
    assert list(CustomerUserObjectPermission.objects.filter(content_object=keep).values_list("user", flat=True)) == [
        world_a.agent.pk
    ]
    assert not CustomerUserObjectPermission.objects.filter(content_object=merge).exists()

    # Identifiers: merge's phones now belong to keep; the credit code filled in from merge is keep's too.
    idents = set(CustomerIdentifier.objects.filter(customer=keep).values_list("kind", "value"))
    assert {("phone", "+8613812345678"), ("phone", "+8613912345678"), ("email", "wang@yunfan.test")} <= idents
    assert ("credit_code", "91330100MA27XY812X") in idents
    assert not CustomerIdentifier.objects.filter(customer=merge).exists()

    # Blank fields of keep are filled from merge; keep's own values stay.
    keep.refresh_from_db()
    assert keep.industry == "软件" and keep.region == "杭州" and keep.credit_code == "91330100MA27XY812X"
    assert keep.owner == world_a.rep1 and keep.name == "杭州云帆科技"

    # The merged customer is soft-deleted with a note, restorable from the bin, never hard-deleted.
    merge.refresh_from_db()
    assert merge.deleted_at is not None and merge.deleted_by == world_a.manager
    assert f"#{keep.pk}" in merge.notes and keep.name in merge.notes
    assert merge in Customer.objects.in_trash_for(world_a.manager)

    audit = AuditEvent.objects.get(action="customer.merge")
    assert audit.object_id == str(keep.pk) and audit.actor == world_a.manager
    assert audit.details["merged"] == merge.pk and audit.details["contacts"] == 2
    assert received and received[0]["keep"].pk == keep.pk and received[0]["merged"].pk == merge.pk


@pytest.mark.django_db
def test_merged_phone_is_now_refused_as_a_duplicate_of_keep(world_a, pair):
    keep, merge, _ = pair
    customer_merge(acting_user=world_a.admin, keep=keep, merge=merge)
    with pytest.raises(DuplicateCustomer) as exc:
        make(world_a.rep2, "另一家", mobile="13912345678")
    assert exc.value.holder.pk == keep.pk


@pytest.mark.django_db
def test_merge_keeps_the_merged_primary_when_keep_has_none(world_a):
    keep = make(world_a.rep1, "没有联系人的公司")
    merge = make(world_a.rep1, "有联系人的公司", mobile="13812345678")
    customer_merge(acting_user=world_a.manager, keep=keep, merge=merge)
    assert list(Contact.objects.filter(customer=keep).values_list("is_primary", flat=True)) == [True]


@pytest.mark.django_db
def test_refusals_change_nothing(world_a, world_b, pair):
    keep, merge, _ = pair
    admins = make(world_a.admin, "管理员的客户")  # in no team: not the manager's
    foreign = make(world_b.rep1, "别家公司", mobile="13700000001")
    before = snapshot(keep, merge, admins, foreign)

    with pytest.raises(DomainError, match="itself"):
        customer_merge(acting_user=world_a.manager, keep=keep, merge=keep)
    with pytest.raises(DomainError):
        customer_merge(acting_user=world_a.manager, keep=keep, merge=foreign)
    with pytest.raises(DomainError):
        customer_merge(acting_user=world_a.admin, keep=foreign, merge=keep)
    with pytest.raises(PermissionDenied):
        customer_merge(acting_user=world_a.manager, keep=keep, merge=admins)
    for user in (world_a.rep1, world_a.agent):
        with pytest.raises(PermissionDenied):
            customer_merge(acting_user=user, keep=keep, merge=merge)
    assert snapshot(keep, merge, admins, foreign) == before

    # A customer already in the bin cannot be merged either.
    customer_trash(acting_user=world_a.rep2, customer=merge)
    before = snapshot(keep, merge)
    with pytest.raises(DomainError):
        customer_merge(acting_user=world_a.manager, keep=keep, merge=merge)
    assert snapshot(keep, merge) == before


# --- the page ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_page_search_preview_then_confirm(world_a, client_for, pair):
    keep, merge, _ = pair
    c = client_for(world_a.manager)
    r = c.get(merge_url(keep), {"q": "云帆"})
    assert r.status_code == 200 and [x.pk for x in r.context["candidates"]] == [merge.pk]  # keep itself excluded

    r = c.get(merge_url(keep), {"other": merge.pk})
    assert r.status_code == 200 and r.context["other"] == merge
    industry = next(row for row in r.context["comparison"] if row["keep"] == "" and row["other"] == "软件")
    assert industry["result"] == "软件" and industry["from_other"]
    assert r.context["preview"].contacts_moving == 2
    assert Contact.objects.filter(customer=merge).count() == 2  # a preview changes nothing

    r = c.post(merge_url(keep), {"other": merge.pk})
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[keep.pk])
    merge.refresh_from_db()
    assert merge.deleted_at is not None and Contact.objects.filter(customer=keep).count() == 3


@pytest.mark.django_db
def test_merge_page_refuses_bad_choices_without_changing_anything(world_a, world_b, client_for, pair):
    keep, merge, _ = pair
    foreign = make(world_b.rep1, "别家公司")
    admins = make(world_a.admin, "管理员的客户")
    before = snapshot(keep, merge, foreign, admins)
    c = client_for(world_a.manager)
    for other in (keep.pk, foreign.pk, admins.pk, "abc", 10**30):
        r = c.post(merge_url(keep), {"other": other})
        assert r.status_code == 422 and r.context["error"], other
    assert snapshot(keep, merge, foreign, admins) == before


@pytest.mark.django_db
def test_merge_page_access(world_a, world_b, client_for, pair):
    keep, merge, _ = pair
    # Reps see their customer but may not merge it; agents and other tenants do not see it at all.
    assert client_for(world_a.rep1).get(merge_url(keep)).status_code == 403
    assert client_for(world_a.rep1).post(merge_url(keep), {"other": merge.pk}).status_code == 403
    assert client_for(world_a.agent).get(merge_url(keep)).status_code == 404
    for user in (world_b.admin, world_b.manager, world_b.rep1):
        assert client_for(user).get(merge_url(keep)).status_code == 404
        assert client_for(user).post(merge_url(keep), {"other": merge.pk}).status_code == 404
    assert client_for(world_a.admin).get(merge_url(keep)).status_code == 200
    merge.refresh_from_db()
    assert merge.deleted_at is None
