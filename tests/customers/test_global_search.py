"""The top bar's search: customers, contacts, leads and opportunities by name, pinyin and phone, grouped by kind,
each scoped to what the user may see; masked phone digits of others' customers are never matched; another
tenant's records never appear; the page's queries are bounded."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.expressions import SortedApart
from crm.tenancy import tenant_context
from customers.models import Customer
from customers.selectors.search import customer_hits
from customers.services.customer import customer_create
from sales.services.lead import lead_create

pytestmark = pytest.mark.django_db


def hits(client, q):
    r = client.get(reverse("search"), {"q": q})
    assert r.status_code == 200
    return {g["source"].key: [h.title for h in g["hits"]] for g in r.context["groups"]}


def test_grouped_and_scoped(world_a, world_b, client_for):
    customer_create(
        acting_user=world_a.rep1,
        data={"name": "杭州云帆科技有限公司"},
        contact={"name": "张三", "mobile": "13812345678"},
    )
    customer_create(acting_user=world_a.rep2, data={"name": "杭州别人的公司"}, contact={"name": "张四"})
    customer_create(acting_user=world_b.rep1, data={"name": "杭州外租户公司"}, contact={"name": "张五"})
    lead_create(acting_user=world_a.rep1, data={"name": "张线索", "company": "杭州线索公司", "phone": "13900001111"})
    c = client_for(world_a.rep1)
    found = hits(c, "杭州")
    assert found["customers"] == ["杭州云帆科技有限公司"]
    assert "杭州别人的公司" not in str(found) and "杭州外租户公司" not in str(found)
    assert hits(c, "hzyf")["customers"] == ["杭州云帆科技有限公司"]  # pinyin initials
    assert hits(c, "张三")["contacts"] == ["张三"] and hits(c, "张线")["leads"] == ["张线索"]
    assert hits(c, "138 1234 5678")["customers"] == ["杭州云帆科技有限公司"]
    assert hits(c, "13900001111")["leads"] == ["张线索"]
    # The manager sees rep1's customer, but masked: its phone digits beyond the shown tail match nothing.
    m = client_for(world_a.manager)
    assert "杭州云帆科技有限公司" in hits(m, "杭州")["customers"]
    assert hits(m, "13812345678") == {} and hits(m, "345678") == {}
    assert hits(m, "5678").get("customers") == ["杭州云帆科技有限公司"]  # what the mask shows
    # Another tenant's user finds nothing of A's.
    assert "杭州云帆科技有限公司" not in str(hits(client_for(world_b.rep1), "杭州"))


def test_short_or_empty_searches_nothing_and_the_box_is_in_the_top_bar(world_a, client_for):
    c = client_for(world_a.rep1)
    r = c.get(reverse("search"), {"q": "杭"})
    assert r.status_code == 200 and r.context["groups"] == []
    assert "data-global-search" in c.get(reverse("home")).content.decode()
    r = c.get(reverse("search"), {"q": "x" * 5000})
    assert r.status_code == 200


def test_query_count_is_bounded(world_a, client_for, django_assert_max_num_queries):
    for i in range(12):
        customer_create(acting_user=world_a.rep1, data={"name": f"杭州批量{i}"}, contact={"name": f"杭州人{i}"})
    c = client_for(world_a.rep1)
    with django_assert_max_num_queries(16):
        r = c.get(reverse("search"), {"q": "杭州"}, HTTP_HX_REQUEST="true")
    assert len(r.context["groups"][0]["hits"]) == 8


def test_the_hits_are_the_first_by_name_with_their_owner_in_one_query(world_a, django_assert_num_queries):
    """The top-N is chosen over the customers alone and only those rows are joined to their owner: the same hits as
    joining every match first, in one query."""
    for i in (3, 1, 4, 0, 2):
        customer_create(acting_user=world_a.rep1, data={"name": f"杭州排序{i}"}, contact={"name": f"联系人{i}"})
    customer_create(acting_user=world_a.rep2, data={"name": "杭州排序00"}, contact={"name": "别人"})
    with tenant_context(world_a.tenant.pk):
        with django_assert_num_queries(1):
            hits = customer_hits(world_a.manager, "杭州", 3)
        assert [h.title for h in hits] == ["杭州排序0", "杭州排序00", "杭州排序1"]
        assert [h.detail for h in hits] == [world_a.rep1.full_name, world_a.rep2.full_name, world_a.rep1.full_name]
        joined_first = (
            Customer.objects.visible_to(world_a.manager)
            .filter(name__startswith="杭州")
            .select_related("owner")
            .order_by(SortedApart("name"), "pk")[:3]
        )
        first_joined = (
            Customer.objects.visible_to(world_a.manager)
            .filter(name__startswith="杭州")
            .first_joined(3, (SortedApart("name"), "pk"), joined=("owner",))
        )
        assert [(c.pk, c.owner.email) for c in first_joined] == [(c.pk, c.owner.email) for c in joined_first]
