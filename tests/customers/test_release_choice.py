"""Releasing customers (one or many): the rep chooses among the pools they may release into (the home pool
preselected) and says why (a listed reason, or their own words); the page then returns to the customer list.
Only the rep's own customers are released; another pool or tenant is refused with nothing written."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import Customer, OwnershipEvent, Pool, PoolTeam
from customers.services.customer import customer_create
from customers.services.pool import customer_release, customers_release
from customers.services.tenant import default_pool

pytestmark = pytest.mark.django_db


def pools_of(world):
    home = default_pool(world.tenant)
    PoolTeam.objects.get_or_create(tenant=world.tenant, pool=home, team=world.sales)
    east = Pool.objects.create(tenant=world.tenant, name="华东公海")
    PoolTeam.objects.create(tenant=world.tenant, pool=east, team=world.team1)  # rep1's team sees it
    hidden = Pool.objects.create(tenant=world.tenant, name="二组公海")
    PoolTeam.objects.create(tenant=world.tenant, pool=hidden, team=world.team2)  # rep1's team does not
    return home, east, hidden


def test_the_release_page_offers_the_pools_the_rep_may_release_into(world_a, client_for):
    home, east, hidden = pools_of(world_a)
    customer = customer_create(acting_user=world_a.rep1, data={"name": "选择公海"})
    page = client_for(world_a.rep1).get(reverse("pool:release", args=[customer.pk]))
    form = page.context["form"]
    assert set(form.fields["pool"].queryset) == {home, east}
    assert form["pool"].value() == home.pk  # preselected
    html = page.content.decode()
    assert "华东公海" in html and "二组公海" not in html


def test_releasing_into_another_pool_returns_to_the_list(world_a, client_for):
    home, east, _hidden = pools_of(world_a)
    customer = customer_create(acting_user=world_a.rep1, data={"name": "去华东"})
    c = client_for(world_a.rep1)
    url = reverse("pool:release", args=[customer.pk])
    assert c.post(url, {"pool": east.pk, "reason_choice": "", "reason": ""}).status_code == 422
    assert c.post(url, {"pool": east.pk, "reason_choice": "other", "reason": ""}).status_code == 422
    response = c.post(url, {"pool": east.pk, "reason_choice": "unreachable", "reason": "电话停机"})
    assert response.status_code == 302 and response.url == reverse("customers:list")
    customer.refresh_from_db()
    assert customer.owner_id is None and customer.pool == east
    event = OwnershipEvent.objects.get(customer=customer, reason="release")
    assert (event.from_pool_id, event.to_pool_id) == (home.pk, east.pk)
    assert event.note == "Cannot be reached — 电话停机" or event.note.endswith("— 电话停机")
    entry = AuditEvent.objects.get(action="customer.release", object_id=str(customer.pk))
    assert entry.details["pool"] == east.pk and entry.details["from_pool"] == home.pk


def test_a_pool_the_rep_does_not_see_is_refused_with_nothing_written(world_a, world_b, client_for):
    _home, _east, hidden = pools_of(world_a)
    customer = customer_create(acting_user=world_a.rep1, data={"name": "不可见公海"})
    with pytest.raises(DomainError, match="may not release customers into this pool"):
        customer_release(acting_user=world_a.rep1, customer=customer, reason="x", pool=hidden)
    other_tenant_pool = default_pool(world_b.tenant)
    with pytest.raises(DomainError, match="may not release customers into this pool"):
        customer_release(acting_user=world_a.rep1, customer=customer, reason="x", pool=other_tenant_pool)
    # Posted to the page: the choice is not offered, so the form refuses it.
    response = client_for(world_a.rep1).post(
        reverse("pool:release", args=[customer.pk]), {"pool": hidden.pk, "reason_choice": "no_interest"}
    )
    assert response.status_code == 422
    customer.refresh_from_db()
    assert customer.owner_id == world_a.rep1.pk and not OwnershipEvent.objects.filter(reason="release").exists()


def test_bulk_release_takes_only_the_reps_own_customers(world_a, client_for):
    home, east, _hidden = pools_of(world_a)
    mine = [customer_create(acting_user=world_a.rep1, data={"name": f"我的{i}"}) for i in range(3)]
    theirs = customer_create(acting_user=world_a.rep2, data={"name": "同事的"})
    c = client_for(world_a.rep1)
    ids = [m.pk for m in mine] + [theirs.pk]
    # From the list's checkboxes: the confirmation page lists only the rep's own.
    page = c.post(reverse("pool:release_bulk"), {"selected": ids})
    assert page.status_code == 200
    assert {x.pk for x in page.context["chosen"]} == {m.pk for m in mine}
    assert "同事的" not in page.content.decode()
    response = c.post(
        reverse("pool:release_bulk"),
        {"ids": ",".join(str(i) for i in ids), "pool": east.pk, "reason_choice": "no_interest", "reason": ""},
    )
    assert response.status_code == 302 and response.url == reverse("customers:list")
    assert set(Customer.objects.filter(pk__in=ids, owner__isnull=True).values_list("pk", flat=True)) == {
        m.pk for m in mine
    }
    assert set(Customer.objects.filter(pk__in=[m.pk for m in mine]).values_list("pool", flat=True)) == {east.pk}
    theirs.refresh_from_db()
    assert theirs.owner_id == world_a.rep2.pk and theirs.pool == home
    # The service itself refuses a batch with someone else's customer, writing nothing.
    again = customer_create(acting_user=world_a.rep1, data={"name": "再来"})
    with pytest.raises(PermissionDenied):
        customers_release(acting_user=world_a.rep1, customer_ids=[again.pk, theirs.pk], reason="x")
    again.refresh_from_db()
    assert again.owner_id == world_a.rep1.pk


def test_bulk_release_of_several_home_pools_keeps_each_home_unless_one_is_chosen(world_a, client_for):
    home, east, _hidden = pools_of(world_a)
    a = customer_create(acting_user=world_a.rep1, data={"name": "甲"})
    b = customer_create(acting_user=world_a.rep1, data={"name": "乙"})
    Customer.objects.filter(pk=b.pk).update(pool=east)
    c = client_for(world_a.rep1)
    page = c.post(reverse("pool:release_bulk"), {"selected": [a.pk, b.pk]})
    assert page.context["form"].fields["pool"].empty_label is not None  # "each customer's home pool" is offered
    response = c.post(
        reverse("pool:release_bulk"), {"ids": f"{a.pk},{b.pk}", "pool": "", "reason_choice": "competitor"}
    )
    assert response.status_code == 302
    assert dict(Customer.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "pool")) == {
        a.pk: home.pk,
        b.pk: east.pk,
    }


def test_another_tenant_cannot_release_or_see_through_the_bulk_page(world_a, world_b, client_for):
    pools_of(world_a)
    customer = customer_create(acting_user=world_a.rep1, data={"name": "甲方客户"})
    outsider = client_for(world_b.rep1)
    assert outsider.get(reverse("pool:release", args=[customer.pk])).status_code == 404
    response = outsider.post(
        reverse("pool:release_bulk"), {"ids": str(customer.pk), "reason_choice": "no_interest", "pool": ""}
    )
    assert response.status_code == 302 and response.url == reverse("customers:list")
    customer.refresh_from_db()
    assert customer.owner_id == world_a.rep1.pk


def test_the_list_offers_release_of_the_reps_own_rows(world_a, client_for):
    pools_of(world_a)
    mine = customer_create(acting_user=world_a.rep1, data={"name": "列表里我的"})
    html = client_for(world_a.rep1).get(reverse("customers:list")).content.decode()
    assert 'data-testid="release-selected"' in html and f'data-testid="select-{mine.pk}"' in html
