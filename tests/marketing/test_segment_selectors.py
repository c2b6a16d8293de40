"""A segment picks the customers (and their contacts) the customer list's filters pick, within its tenant only."""

import datetime as dt

import pytest
from django.utils import timezone

from customers.models import Customer, CustomerLevel
from customers.services.customer import customer_create
from marketing.models import Segment
from marketing.selectors.segment import segment_contacts, segment_customers


def _customer(user, name, **fields):
    customer = customer_create(acting_user=user, data={"name": name}, contact={"name": f"{name}联系人"})
    if fields:
        Customer.objects.filter(pk=customer.pk).update(**fields)
    return customer


@pytest.fixture
def customers_a(world_a):
    key = CustomerLevel.objects.create(tenant=world_a.tenant, code="VIP", name="重点客户", order=9)
    now = timezone.now()
    return {
        "level": key,
        "sh": _customer(world_a.rep1, "上海甲", region="上海", level=key, last_deal_at=now),
        "bj": _customer(world_a.rep2, "北京乙", region="北京", last_deal_at=now - dt.timedelta(days=400)),
        "sh2": _customer(world_a.rep2, "上海丙", region="上海"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters, expected",
    [
        (lambda c, w: {"region": "上海"}, {"上海甲", "上海丙"}),
        (lambda c, w: {"level": str(c["level"].pk)}, {"上海甲"}),
        (lambda c, w: {"team": str(w.team2.pk)}, {"北京乙", "上海丙"}),
        (lambda c, w: {"team": str(w.sales.pk), "region": "北京"}, {"北京乙"}),
        (
            lambda c, w: {"no_deal_since": (timezone.localdate() - dt.timedelta(days=30)).isoformat()},
            {"北京乙", "上海丙"},
        ),
        (lambda c, w: {"deal_since": (timezone.localdate() - dt.timedelta(days=30)).isoformat()}, {"上海甲"}),
        (lambda c, w: {}, {"上海甲", "北京乙", "上海丙"}),
    ],
)
def test_segment_customers_follow_the_customer_list_filters(world_a, customers_a, filters, expected):
    segment = Segment.objects.create(
        tenant=world_a.tenant, name="测试", owner=world_a.manager, filters=filters(customers_a, world_a)
    )
    assert set(segment_customers(segment).values_list("name", flat=True)) == expected
    assert set(segment_contacts(segment).values_list("name", flat=True)) == {f"{n}联系人" for n in expected}


@pytest.mark.django_db
def test_a_segment_never_reaches_another_tenant(world_a, world_b, customers_a):
    _customer(world_b.rep1, "上海外人", region="上海")
    segment = Segment.objects.create(
        tenant=world_a.tenant, name="上海", owner=world_a.manager, filters={"region": "上海"}
    )
    assert set(segment_customers(segment).values_list("name", flat=True)) == {"上海甲", "上海丙"}
    # Another tenant's level or team picks nobody rather than everybody.
    other_level = CustomerLevel.objects.create(tenant=world_b.tenant, code="VIP", name="重点客户", order=9)
    for filters in ({"level": str(other_level.pk)}, {"team": str(world_b.sales.pk)}):
        segment.filters = filters
        assert not segment_customers(segment).exists()


@pytest.mark.django_db
def test_with_a_user_the_segment_is_what_the_list_shows_them(world_a, customers_a):
    segment = Segment.objects.create(
        tenant=world_a.tenant, name="上海", owner=world_a.manager, filters={"region": "上海"}
    )
    assert set(segment_customers(segment, user=world_a.rep1).values_list("name", flat=True)) == {"上海甲"}
    assert segment.query_string == "region=%E4%B8%8A%E6%B5%B7"
