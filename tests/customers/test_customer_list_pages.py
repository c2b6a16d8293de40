"""The customer list's pages: every sort, every role, page by page, gives exactly the visible customers in the sort's
order (the merged per-owner scans of customers.selectors.listing), in a bounded number of queries; the API's list
gives the same customers."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.filters import CustomerFilter
from customers.models import Customer
from customers.querysets import visible_scope
from customers.selectors.listing import SORTS, CustomerPageIds
from customers.services.share import customer_share
from customers.services.tenant import default_pool

PAGE = 7


@pytest.fixture
def book(world_a):
    """Customers of rep1, rep2, the manager and the admin, with repeated names and follow-up days (ties broken by
    id) and never-followed-up ones; one of the admin's is shared with the manager, one of rep2's with rep1."""
    pool = default_pool(world_a.tenant)
    now = timezone.now()
    rows = []
    for i, owner in enumerate([world_a.rep1, world_a.rep2, world_a.manager, world_a.admin] * 9):
        followed = None if i % 4 == 0 else now - dt.timedelta(days=i % 5)
        rows.append(
            Customer(
                tenant=world_a.tenant,
                name=f"客户{i % 6}",
                owner=owner,
                pool=pool,
                owned_since=now,
                last_followed_up_at=followed,
            )
        )
    customers = Customer.objects.bulk_create(rows)
    admin_held = next(c for c in customers if c.owner_id == world_a.admin.pk)
    rep2_held = next(c for c in customers if c.owner_id == world_a.rep2.pk)
    customer_share(acting_user=world_a.admin, customer=admin_held, with_user=world_a.manager)
    customer_share(acting_user=world_a.rep2, customer=rep2_held, with_user=world_a.rep1)
    return customers


def listed(client, sort: str) -> list[int]:
    """Every page of the list in that sort, page after page, as ids."""
    ids, number = [], 1
    while True:
        response = client.get(reverse("customers:list"), {"sort": sort, "page": number})
        assert response.status_code == 200
        page = response.context["page"]
        ids += [c.pk for c in response.context["customers"]]
        if not page.has_next():
            return ids
        number += 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "manager", "rep1"])
@pytest.mark.parametrize("sort", list(SORTS))
def test_every_page_of_every_sort_is_the_visible_customers_in_order(world_a, book, client_for, monkeypatch, role, sort):
    monkeypatch.setattr("customers.views.customer.PAGE_SIZE", PAGE)
    user = getattr(world_a, role)
    expected = list(Customer.objects.visible_to(user).order_by(*SORTS[sort]).values_list("pk", flat=True))
    assert len(expected) > 2 * PAGE or role == "rep1"
    assert listed(client_for(user), sort) == expected


@pytest.mark.django_db
def test_the_scope_gives_the_rows_of_visible_to(world_a, world_b, book):
    for user in (world_a.admin, world_a.manager, world_a.rep1, world_a.rep2, world_a.agent, world_b.admin):
        scope = visible_scope(user)
        assert set(Customer.objects.visible_to(user, scope)) == set(Customer.objects.visible_to(user))
        if scope is not None:
            parts = Customer.objects.visible_parts(user, scope)
            ids = [pk for part in parts for pk in part.values_list("pk", flat=True)]
            assert len(ids) == len(set(ids))  # disjoint
            assert set(ids) == set(Customer.objects.visible_to(user).values_list("pk", flat=True))
    shared = visible_scope(world_a.rep1)
    assert shared.owner_ids == (world_a.rep1.pk,) and len(shared.shared_ids) == 1


@pytest.mark.django_db
def test_a_team_page_is_a_merge_of_per_owner_scans(world_a, book, rf, django_assert_num_queries):
    """The manager's page: one UNION ALL of per-owner ordered scans, each cut at the page's end."""
    request = rf.get("/customers/", {"sort": "name"})
    request.user, request.tenant = world_a.manager, world_a.tenant
    scope = visible_scope(world_a.manager)
    filterset = CustomerFilter(
        request.GET, queryset=Customer.objects.visible_to(world_a.manager, scope), request=request
    )
    filterset.qs  # noqa: B018 - validates
    ids = CustomerPageIds(filterset, scope)
    with django_assert_num_queries(1) as captured:
        page = ids[PAGE : 2 * PAGE]
    sql = captured.captured_queries[0]["sql"]
    assert "UNION ALL" in sql and sql.count("LIMIT 14") == len(scope.owner_ids) + 1
    expected = Customer.objects.visible_to(world_a.manager).order_by(*SORTS["name"]).values_list("pk", flat=True)
    assert page == list(expected[PAGE : 2 * PAGE])


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [7, 50])
@pytest.mark.parametrize("role", ["admin", "manager", "rep1"])
def test_a_deep_page_has_a_fixed_number_of_queries(
    world_a, client_for, monkeypatch, django_assert_max_num_queries, rows, role
):
    monkeypatch.setattr("customers.views.customer.PAGE_SIZE", 2)
    pool = default_pool(world_a.tenant)
    Customer.objects.bulk_create(
        [Customer(tenant=world_a.tenant, name=f"深页{i}", owner=world_a.rep1, pool=pool) for i in range(rows)]
    )
    client = client_for(getattr(world_a, role))
    with django_assert_max_num_queries(19):
        response = client.get(reverse("customers:list"), {"sort": "-last_followed_up", "page": 3})
    assert response.context["page"].number == 3
    assert len(response.context["customers"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "manager", "rep1"])
def test_the_api_lists_the_same_customers_as_the_page(world_a, book, client_for, role):
    user = getattr(world_a, role)
    client = client_for(user)
    url, ids = "/api/v1/customers/?page_size=5", []
    while url:
        body = client.get(url).json()
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
    assert ids == list(Customer.objects.visible_to(user).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_pages_can_be_walked_and_jumped(world_a, book, client_for, monkeypatch):
    monkeypatch.setattr("customers.views.customer.PAGE_SIZE", PAGE)
    client = client_for(world_a.admin)
    html = client.get(reverse("customers:list"), {"sort": "name", "page": 3}).content.decode()
    # 36 customers, 7 a page: first, previous, next and last links keep the sort; a page number can be typed in.
    assert 'data-testid="page-first"' in html and "sort=name&amp;page=1" in html
    assert 'data-testid="page-last"' in html and "sort=name&amp;page=6" in html
    assert "sort=name&amp;page=2" in html and "sort=name&amp;page=4" in html
    assert 'data-testid="page-jump"' in html
    assert '<input type="hidden" name="sort" value="name">' in html
    assert 'type="number" name="page" min="1" max="6" value="3"' in html
    last = client.get(reverse("customers:list"), {"sort": "name", "page": 6})
    assert len(last.context["customers"]) == 1
    assert 'data-testid="page-last"' not in last.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("kept", [0, 1, 2])
def test_parts_a_filter_empties_are_left_out_of_the_merge(world_a, book, rf, kept):
    request = rf.get("/customers/", {"sort": "name"})
    request.user, request.tenant = world_a.manager, world_a.tenant
    scope = visible_scope(world_a.manager)
    filterset = CustomerFilter(request.GET, queryset=Customer.objects.visible_to(request.user, scope), request=request)
    filterset.qs  # noqa: B018 - validates
    owners = scope.owner_ids[:kept]

    class SomeOwnersOnly(CustomerPageIds):
        def _filtered(self, part):
            part = super()._filtered(part)
            return part if part.filter(owner_id__in=owners).exists() else part.none()

    expected = Customer.objects.visible_to(request.user).filter(owner_id__in=owners).order_by(*SORTS["name"])
    assert SomeOwnersOnly(filterset, scope)[0:PAGE] == list(expected.values_list("pk", flat=True)[:PAGE])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "manager", "rep1"])
def test_an_empty_list_shows_its_empty_page(world_a, client_for, role):
    response = client_for(getattr(world_a, role)).get(reverse("customers:list"), {"sort": "name"})
    assert response.status_code == 200
    assert response.context["customers"] == []
    assert 'data-testid="page-jump"' not in response.content.decode()
