"""The customer and pool searches under row-level security: every arm of the search is one an index can serve as
the app role (prefixes as `^@`, contains and phone tails through the tenant-scoped id functions), and those
functions answer only for the tenant of the connection."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.urls import reverse

from crm.search_functions import matching_ids
from crm.tenancy import tenant_context
from customers.filters import CUSTOMER_NAME_CONTAINS, search_customers, search_pool_customers
from customers.models import Customer, Pool
from customers.services.customer import customer_create
from customers.services.tenant import default_pool

from .. import app_role


def make(user, name, mobile="", *, pooled=False):
    """A customer of `user`, or (pooled) put into the default pool by `user`, an admin."""
    return customer_create(
        acting_user=user,
        data={"name": name},
        contact={"name": f"{name}联系人", "mobile": mobile},
        to_pool=default_pool(user.tenant) if pooled else None,
    )


def plan_as_app_role(tenant, queryset) -> str:
    """The plan of the capped count of `queryset` as the app role, with sequential scans priced out: a sequential
    scan left in it is one no index can replace (a condition row-level security keeps off the indexes)."""
    sql, params = queryset.order_by().values("pk")[:10001].query.sql_with_params()
    with app_role.serving(), tenant_context(tenant.pk), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - the queryset's own SQL
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["杭州", "hz", "hangzhou", "越博建材", "5678", "45678"])
def test_every_search_arm_is_served_by_an_index_as_the_app_role(world_a, query):
    make(world_a.rep1, "杭州越博建材有限公司", "13812345678")
    for user in (world_a.admin, world_a.manager, world_a.rep1):
        with tenant_context(world_a.tenant.pk):
            queryset = search_customers(Customer.objects.visible_to(user), query, world_a.tenant, user)
        plan = plan_as_app_role(world_a.tenant, queryset)
        assert "Seq Scan" not in plan, plan


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["杭州", "hz", "越博建材"])
def test_the_pool_search_reads_the_pool_indexes(world_a, query):
    make(world_a.admin, "杭州越博建材有限公司", pooled=True)
    with tenant_context(world_a.tenant.pk):
        queryset = search_pool_customers(Customer.objects.in_pools_for(world_a.rep1), query, world_a.tenant)
    plan = plan_as_app_role(world_a.tenant, queryset)
    assert "Seq Scan" not in plan, plan
    if query != "越博建材":  # the contains arm reads ids, then the primary key
        assert "cust_pool" in plan, plan  # a pool index: its prefix indexes, or its pool-and-entry index


@pytest.mark.django_db
def test_the_id_functions_answer_only_for_the_connections_tenant(world_a, world_b):
    ours = make(world_a.rep1, "杭州越博建材有限公司", "13812345678")
    make(world_b.rep1, "杭州越博建材有限公司", "13812345678")
    with app_role.serving(), transaction.atomic(), connection.cursor() as cursor:
        with tenant_context(world_a.tenant.pk):
            cursor.execute("SELECT customer_ids_name_contains('越博建', 10), customer_ids_phone_ending('5678', 10)")
            assert cursor.fetchone() == ([ours.pk], [ours.pk])
        # No tenant context: nothing, as the policy itself.
        cursor.execute("SELECT customer_ids_name_contains('越博建', 10), customer_ids_phone_ending('5678', 10)")
        assert cursor.fetchone() == ([], [])


@pytest.mark.django_db
def test_wildcards_in_the_search_text_are_literal(world_a, client_for):
    make(world_a.rep1, "百分_之百贸易")
    make(world_a.rep1, "百分百贸易")
    make(world_a.rep1, "100%满意科技")
    c = client_for(world_a.rep1)

    def names(q):
        return {x.name for x in c.get(reverse("customers:list"), {"q": q}).context["customers"]}

    assert names("分_之") == {"百分_之百贸易"}
    assert names("百分_") == {"百分_之百贸易"}
    assert names("0%满") == {"100%满意科技"}
    assert names("100%") == {"100%满意科技"}
    assert names("%") == set()


@pytest.mark.django_db
def test_a_tail_longer_than_the_mask_still_matches_only_own_customers(world_a, client_for):
    make(world_a.rep1, "一号公司", "13812345678")
    make(world_a.rep2, "二号公司", "13912345678")

    def names(user, q):
        return {x.name for x in client_for(user).get(reverse("customers:list"), {"q": q}).context["customers"]}

    assert names(world_a.admin, "5678") == {"一号公司", "二号公司"}
    assert names(world_a.admin, "45678") == set()
    assert names(world_a.rep1, "45678") == {"一号公司"}


@pytest.mark.django_db
def test_the_pool_list_reads_only_the_pools_the_user_sees(world_a, world_b, client_for):
    pooled = make(world_a.admin, "公海客户", pooled=True)
    theirs = make(world_b.admin, "别家公海客户", pooled=True)
    r = client_for(world_a.rep1).get(reverse("pool:list"))
    assert [c.pk for c in r.context["customers"]] == [pooled.pk]
    # Another tenant's pools passed in are ignored: the selector keeps to the user's tenant.
    with tenant_context(world_a.tenant.pk):
        mixed = list(Pool.objects.all()) + list(Pool.objects.filter(tenant=world_b.tenant))
        found = set(Customer.objects.in_pools_for(world_a.rep1, pools=mixed).values_list("pk", flat=True))
    assert pooled.pk in found and theirs.pk not in found


@pytest.mark.django_db
def test_a_contains_fragment_matching_many_is_searched_as_a_filter(world_a, client_for, monkeypatch):
    # Past CONTAINS_MOST the id function answers NULL and the search filters the rows instead: the same matches.
    monkeypatch.setattr("customers.filters.CONTAINS_MOST", 1)
    make(world_a.rep1, "甲越博建材")
    make(world_a.rep1, "乙越博建材")
    make(world_a.rep1, "丙公司")
    r = client_for(world_a.rep1).get(reverse("customers:list"), {"q": "越博建"})
    assert {c.name for c in r.context["customers"]} == {"甲越博建材", "乙越博建材"}
    with tenant_context(world_a.tenant.pk):
        assert matching_ids(CUSTOMER_NAME_CONTAINS, "越博建", 1) is None
        assert len(matching_ids(CUSTOMER_NAME_CONTAINS, "越博建", 2)) == 2
