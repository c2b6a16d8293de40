"""Orders (purchase history): recording one moves the customer's last deal; bad amounts, currencies the tenant does
not use, future dates and invisible customers are refused with nothing saved; void instead of delete."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.services.share import customer_share
from sales.models import Order, OrderLine, order_currencies
from sales.services.order import Line, order_create

from .helpers import in_english, make_customer, queries_for


def order_form(customer, **overrides):
    data = {
        "customer": customer.pk,
        "ordered_on": timezone.localdate().isoformat(),
        "currency": "CNY",
        "amount": "12800.00",
        "reference": "",
        "items_text": "CRM 专业版一年",
        "notes": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_recording_an_order_moves_last_deal_and_is_audited(world_a, client_for):
    customer = make_customer(world_a.rep1, "下单客户")
    in_english(world_a.rep1)
    c = client_for(world_a.rep1)
    assert c.get(reverse("sales:order_create"), {"customer": customer.pk}).status_code == 200
    response = c.post(reverse("sales:order_create"), order_form(customer, reference="SO-001"))
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.amount == Decimal("12800.00") and order.currency == "CNY" and order.created_by == world_a.rep1
    customer.refresh_from_db()
    assert customer.last_deal_at is not None and customer.last_deal_at <= timezone.now()
    assert AuditEvent.objects.filter(action="order.create", object_id=str(order.pk)).exists()
    detail = c.get(reverse("sales:order_detail", args=[order.pk])).content.decode()
    assert "SO-001" in detail and "12,800.00" in detail


@pytest.mark.django_db
def test_product_lines_make_the_amount(world_a, client_for):
    customer = make_customer(world_a.rep1, "明细客户")
    data = order_form(
        customer,
        amount="",
        items_text="",
        **{
            "lines-0-name": "CRM 标准版",
            "lines-0-quantity": "2",
            "lines-0-unit_price": "6800",
            "lines-1-name": "实施服务",
            "lines-1-quantity": "1.5",
            "lines-1-unit_price": "2000",
        },
    )
    response = client_for(world_a.rep1).post(reverse("sales:order_create"), data)
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.amount == Decimal("16600.00")
    assert [(line.name, line.quantity) for line in OrderLine.objects.filter(order=order)] == [
        ("CRM 标准版", Decimal("2.00")),
        ("实施服务", Decimal("1.50")),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"amount": "-100"}, "amount", "The amount must be greater than zero."),
        ({"amount": "0"}, "amount", "The amount must be greater than zero."),
        ({"amount": ""}, "amount", "The amount must be greater than zero."),
        ({"currency": "JPY"}, "currency", "JPY is not a currency your company uses."),
        ({"currency": "XYZ"}, "currency", "XYZ is not a currency your company uses."),
        ({"ordered_on": "future"}, "ordered_on", "An order date cannot be in the future."),
        ({"customer": "invisible"}, "customer", "Choose a customer you can see."),
        ({"customer": "other_tenant"}, "customer", "Choose a customer you can see."),
        (
            {"lines-0-name": "产品", "lines-0-quantity": "1", "lines-0-unit_price": "100", "amount": "99"},
            "amount",
            "The amount 99.00 differs from the total of the product lines, 100.00.",
        ),
    ],
)
def test_bad_order_input_is_refused_clearly_and_saves_nothing(world_a, world_b, client_for, overrides, field, message):
    in_english(world_a.rep1)
    customer = make_customer(world_a.rep1, "校验订单客户")
    values = {
        "future": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "invisible": make_customer(world_a.rep2, "看不见的订单客户").pk,
        "other_tenant": make_customer(world_b.rep1, "别家的订单客户").pk,
    }
    data = order_form(customer, items_text="")
    data.update({k: values.get(v, v) for k, v in overrides.items()})
    response = client_for(world_a.rep1).post(reverse("sales:order_create"), data)
    assert response.status_code == 422
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert message in response.content.decode()
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    customer.refresh_from_db()
    assert customer.last_deal_at is None


@pytest.mark.django_db
def test_bad_product_lines_are_refused(world_a, client_for):
    in_english(world_a.rep1)
    customer = make_customer(world_a.rep1, "坏明细客户")
    data = order_form(
        customer, amount="", **{"lines-0-name": "产品", "lines-0-quantity": "0", "lines-0-unit_price": "-1"}
    )
    response = client_for(world_a.rep1).post(reverse("sales:order_create"), data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "The quantity must be greater than zero." in body and "Enter a unit price of zero or more." in body
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_service_checks_currency_amount_and_customer(world_a, world_b):
    customer = make_customer(world_a.rep1, "服务订单客户")
    today = timezone.localdate()
    kw = {"acting_user": world_a.rep1, "customer": customer, "ordered_on": today}
    with pytest.raises(DomainError) as exc:
        order_create(**kw, currency="JPY", amount=Decimal("10"))
    assert exc.value.field == "currency"
    with pytest.raises(DomainError):
        order_create(**kw, currency="CNY", amount=Decimal("-1"))
    with pytest.raises(DomainError):
        order_create(**kw, currency="CNY", lines=[Line(name="x", quantity=Decimal("0"), unit_price=Decimal("1"))])
    with pytest.raises(DomainError):
        order_create(
            acting_user=world_b.admin, customer=customer, ordered_on=today, currency="CNY", amount=Decimal("1")
        )
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_currencies_follow_the_tenant(world_a):
    world_a.tenant.currency = "USD"
    world_a.tenant.save()
    assert order_currencies(world_a.tenant)[0] == "USD" and "CNY" not in order_currencies(world_a.tenant)
    customer = make_customer(world_a.rep1, "美元客户")
    order = order_create(
        acting_user=world_a.rep1,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency="USD",
        amount=Decimal("5"),
    )
    assert order.currency == "USD"
    with pytest.raises(DomainError):
        order_create(
            acting_user=world_a.rep1,
            customer=customer,
            ordered_on=timezone.localdate(),
            currency="CNY",
            amount=Decimal("5"),
        )


@pytest.mark.django_db
def test_order_number_is_unique_per_company(world_a, world_b, client_for):
    in_english(world_a.rep1)
    a = make_customer(world_a.rep1, "编号甲")
    b = make_customer(world_b.rep1, "编号乙")
    c = client_for(world_a.rep1)
    assert c.post(reverse("sales:order_create"), order_form(a, reference="SO-9")).status_code == 302
    response = c.post(reverse("sales:order_create"), order_form(a, reference="SO-9"))
    assert response.status_code == 422 and "An order with this number already exists." in response.content.decode()
    assert (
        client_for(world_b.rep1).post(reverse("sales:order_create"), order_form(b, reference="SO-9")).status_code == 302
    )
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_an_older_order_never_moves_last_deal_back(world_a):
    customer = make_customer(world_a.rep1, "历史订单客户")
    today = timezone.localdate()
    order_create(acting_user=world_a.rep1, customer=customer, ordered_on=today, currency="CNY", amount=Decimal("1"))
    customer.refresh_from_db()
    latest = customer.last_deal_at
    order_create(
        acting_user=world_a.rep1,
        customer=customer,
        ordered_on=today - timedelta(days=100),
        currency="CNY",
        amount=Decimal("1"),
    )
    customer.refresh_from_db()
    assert customer.last_deal_at == latest


@pytest.mark.django_db
def test_void_keeps_the_order_with_reason_and_audit(world_a, world_b, client_for):
    customer = make_customer(world_a.rep1, "作废客户")
    order = order_create(
        acting_user=world_a.rep1,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency="CNY",
        amount=Decimal("9"),
    )
    url = reverse("sales:order_void", args=[order.pk])
    assert client_for(world_b.admin).post(url, {"reason": "x"}).status_code == 404
    assert client_for(world_a.rep2).post(url, {"reason": "x"}).status_code == 404
    c = client_for(world_a.rep1)
    c.post(url, {"reason": ""})
    order.refresh_from_db()
    assert order.voided_at is None
    assert c.post(url, {"reason": "重复录入"}).status_code == 302
    order.refresh_from_db()
    assert order.is_void and order.void_reason == "重复录入" and order.voided_by == world_a.rep1
    assert AuditEvent.objects.filter(action="order.void", object_id=str(order.pk)).exists()
    listing = c.get(reverse("sales:order_list"))
    assert list(listing.context["orders"]) == [] and listing.context["totals"] == []
    assert list(c.get(reverse("sales:order_list"), {"include_void": "on"}).context["orders"]) == [order]


@pytest.mark.django_db
def test_view_only_share_cannot_record_or_void(world_a, client_for):
    customer = make_customer(world_a.rep1, "只读客户")
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    response = client_for(world_a.rep2).post(reverse("sales:order_create"), order_form(customer))
    assert response.status_code == 422 and not Order.objects.exists()
    order = order_create(
        acting_user=world_a.rep1,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency="CNY",
        amount=Decimal("9"),
    )
    rep2 = client_for(world_a.rep2)
    assert rep2.get(reverse("sales:order_detail", args=[order.pk])).status_code == 200
    assert rep2.post(reverse("sales:order_void", args=[order.pk]), {"reason": "x"}).status_code == 403


@pytest.mark.django_db
def test_order_list_is_scoped_paginated_with_fixed_queries(world_a, world_b, client_for, django_assert_max_num_queries):
    mine = make_customer(world_a.rep1, "列表客户")
    theirs = make_customer(world_a.rep2, "同事列表客户")
    foreign = make_customer(world_b.rep1, "别家列表客户")
    today = timezone.localdate()
    for user, customer in ((world_a.rep1, mine), (world_a.rep2, theirs), (world_b.rep1, foreign)):
        order_create(acting_user=user, customer=customer, ordered_on=today, currency="CNY", amount=Decimal("10"))
    c = client_for(world_a.rep1)
    url = reverse("sales:order_list")
    body = c.get(url).content.decode()
    assert "列表客户" in body and "同事列表客户" not in body and "别家列表客户" not in body
    assert {o.customer.name for o in client_for(world_a.manager).get(url).context["orders"]} == {
        "列表客户",
        "同事列表客户",
    }
    few = queries_for(lambda: c.get(url))
    for i in range(60):
        order_create(
            acting_user=world_a.rep1,
            customer=mine,
            ordered_on=today - timedelta(days=i),
            currency="USD" if i % 3 else "CNY",
            amount=Decimal(i + 1),
        )
    assert queries_for(lambda: c.get(url)) == few
    with django_assert_max_num_queries(10):
        response = c.get(url)
    assert len(response.context["orders"]) == 50 and response.context["page"].paginator.num_pages == 2
    assert {t["currency"] for t in response.context["totals"]} == {"CNY", "USD"}
    assert c.get(url, {"q": "SO-none"}).context["page"].paginator.count == 0


@pytest.mark.django_db
def test_customer_page_shows_its_orders(world_a, client_for):
    customer = make_customer(world_a.rep1, "面板订单客户")
    order_create(
        acting_user=world_a.rep1,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency="CNY",
        amount=Decimal("4321"),
        reference="SO-PANEL",
    )
    in_english(world_a.rep1)
    body = client_for(world_a.rep1).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "SO-PANEL" in body and "4,321.00" in body and 'data-testid="record-order"' in body
