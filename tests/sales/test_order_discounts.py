"""Approval of order discounts: an order whose discount (1 − charged / list total of its product lines at the
customer's level price) is above the tenant's quote thresholds waits for approval through crm.approvals and counts
as a deal (the customer's last deal, the order totals, the customer panel) only once approved — exactly once;
rejected or voided while waiting, it never counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide, approval_withdraw
from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import Customer, CustomerLevel
from sales.models import Order, OrderStatus, Pipeline, Stage, StageKind
from sales.services.opportunity import opportunity_create, opportunity_move
from sales.services.order import ORDER_DISCOUNT_KIND, Line, order_create, order_decided, order_void
from sales.services.product import product_save
from sales.services.quote import quote_settings_save
from sales.widgets import orders_panel_context

from .helpers import make_customer, queries_for
from .quotes import make_product


def _order(world, customer, *, price, product, quantity="1", user=None, ordered_on=None, **extra):
    return order_create(
        acting_user=user or world.rep1,
        customer=customer,
        ordered_on=ordered_on or timezone.localdate(),
        currency="CNY",
        lines=[Line(name=product.name, quantity=Decimal(quantity), unit_price=Decimal(price), product=product)],
        **extra,
    )


def _last_deal(customer):
    return Customer.objects.values_list("last_deal_at", flat=True).get(pk=customer.pk)


def _request(order):
    return ApprovalRequest.objects.get(kind=ORDER_DISCOUNT_KIND, object_id=order.pk)


@pytest.mark.django_db
def test_a_discount_within_the_threshold_is_confirmed_at_once(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "小折扣客户")
    order = _order(world, customer, price="9000", product=product)  # 10 %: not above the default 10 %
    assert (order.status, order.discount_pct) == (OrderStatus.CONFIRMED, Decimal("10.00"))
    assert _last_deal(customer) is not None
    assert not ApprovalRequest.objects.exists()
    assert list(Order.objects.counted()) == [order]


@pytest.mark.django_db
def test_a_big_discount_waits_and_is_not_counted(world, rf):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "大折扣客户")
    order = _order(world, customer, price="8500", product=product)
    assert (order.status, order.discount_pct) == (OrderStatus.AWAITING, Decimal("15.00"))
    assert _last_deal(customer) is None
    assert not Order.objects.counted().exists() and Order.objects.valid().count() == 1
    request = _request(order)
    assert request.is_pending and request.requested_by == world.rep1 and request.amount == Decimal("8500.00")
    assert [s.approver for s in request.steps.all()] == ["manager"]
    event = AuditEvent.objects.get(action="order.create", object_id=str(order.pk))
    assert event.details["status"] == "awaiting" and event.details["discount"] == "15.00"
    http = rf.get("/")
    http.user = world.rep1
    panel = orders_panel_context(http, customer)
    assert panel["orders"] == [] and panel["totals"] == []


@pytest.mark.django_db
def test_approving_counts_the_order_exactly_once(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "审批客户")
    order = _order(world, customer, price="8000", product=product)
    request = _request(order)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True, comment="同意")
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED and order.is_counted
    first = _last_deal(customer)
    assert first is not None
    assert list(Order.objects.counted()) == [order]
    assert AuditEvent.objects.filter(action="order.approved", object_id=str(order.pk), actor=world.manager).count() == 1
    # A second decision is refused, and the engine's callback on a decided order changes nothing.
    with pytest.raises(DomainError, match="already approved"):
        approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    with pytest.raises(DomainError, match="no longer waits for approval"):
        order_decided(ApprovalRequest.objects.get(pk=request.pk), order)
    assert _last_deal(customer) == first
    assert AuditEvent.objects.filter(action="order.approved", object_id=str(order.pk)).count() == 1
    assert Order.objects.counted().count() == 1


@pytest.mark.django_db
def test_above_the_second_threshold_an_administrator_approves_too(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "二级审批客户")
    order = _order(world, customer, price="7000", product=product)  # 30 % > 20 %
    request = _request(order)
    assert [s.approver for s in request.steps.all()] == ["manager", "admin"]
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING and _last_deal(customer) is None
    approval_decide(acting_user=world.admin, request_id=request.pk, step=2, approve=True)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED and _last_deal(customer) is not None


@pytest.mark.django_db
def test_a_rejected_or_withdrawn_discount_never_counts(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "驳回客户")
    rejected = _order(world, customer, price="8000", product=product)
    approval_decide(acting_user=world.manager, request_id=_request(rejected).pk, step=1, approve=False, comment="太低")
    withdrawn = _order(world, customer, price="8100", product=product)
    approval_withdraw(acting_user=world.rep1, request_id=_request(withdrawn).pk)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.REJECTED}
    assert _last_deal(customer) is None and not Order.objects.counted().exists()
    assert AuditEvent.objects.filter(action="order.rejected").count() == 2


@pytest.mark.django_db
def test_voiding_a_waiting_order_closes_its_approval(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "作废待批客户")
    order = _order(world, customer, price="8000", product=product)
    order_void(acting_user=world.rep1, order=order, reason="客户取消")
    order.refresh_from_db()
    assert order.is_void and order.status == OrderStatus.REJECTED
    request = _request(order)
    assert request.status == ApprovalRequest.Status.WITHDRAWN
    with pytest.raises(DomainError, match="withdrew"):
        approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    assert _last_deal(customer) is None


@pytest.mark.django_db
def test_the_discount_is_measured_from_the_customers_level_price(world):
    level = CustomerLevel.objects.create(tenant=world.tenant, code="A", name="重点客户", order=1)
    product = make_product(world, price="12800.00")
    product_save(
        acting_user=world.admin,
        data={
            "code": product.code,
            "name": product.name,
            "list_price": product.list_price,
            "currency": "CNY",
            "tax_rate": product.tax_rate,
            "is_active": True,
        },
        product=product,
        level_prices={level: Decimal("9800")},
    )
    customer = make_customer(world.rep1, "等级价客户")
    Customer.objects.filter(pk=customer.pk).update(level=level)
    customer.refresh_from_db()
    at_level = _order(world, customer, price="9800", product=product, quantity="2")
    assert (at_level.status, at_level.discount_pct) == (OrderStatus.CONFIRMED, Decimal("0.00"))
    below = _order(world, customer, price="8000", product=product)  # 1 − 8000 / 9800 = 18.37 %
    assert (below.status, below.discount_pct) == (OrderStatus.AWAITING, Decimal("18.37"))
    # The tenant's manager threshold is the quotes' one: raised above it, the same order needs nothing.
    quote_settings_save(acting_user=world.admin, data={"discount_limit": Decimal("19"), "second_discount_limit": 25})
    assert _order(world, customer, price="8000", product=product).status == OrderStatus.CONFIRMED


@pytest.mark.django_db
def test_free_text_lines_and_plain_amounts_need_no_approval(world):
    customer = make_customer(world.rep1, "无产品客户")
    order = order_create(
        acting_user=world.rep1,
        customer=customer,
        ordered_on=timezone.localdate(),
        currency="CNY",
        lines=[Line(name="实施服务", quantity=Decimal("1"), unit_price=Decimal("1"))],
    )
    assert (order.status, order.discount_pct) == (OrderStatus.CONFIRMED, None)


@pytest.mark.django_db
def test_a_won_opportunity_with_a_big_discount_waits_for_approval(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "赢单折扣客户")
    pipeline = Pipeline.objects.for_tenant(world.tenant).first()
    opportunity = opportunity_create(
        acting_user=world.rep1,
        customer=customer,
        name="大单",
        pipeline=pipeline,
        amount=Decimal("7500"),
        currency="CNY",
        lines=[Line(name=product.name, quantity=Decimal("1"), unit_price=Decimal("7500"), product=product)],
    )
    won = Stage.objects.get(pipeline=pipeline, kind=StageKind.WON)
    opportunity = opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=won)
    order = opportunity.order
    assert order.status == OrderStatus.AWAITING and _last_deal(customer) is None
    lost = Stage.objects.filter(pipeline=pipeline, kind=StageKind.LOST).first()
    with pytest.raises(DomainError, match="void the order"):
        opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=lost, lost_reason="价格")
    approval_decide(acting_user=world.manager, request_id=_request(order).pk, step=1, approve=False)
    # Its discount refused, the opportunity may move on.
    opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=lost, lost_reason="价格")


@pytest.mark.django_db
def test_pages_show_the_status_the_approval_and_filter_by_it(world, client_for):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "页面待批客户")
    waiting = _order(world, customer, price="8000", product=product, reference="SO-WAIT")
    confirmed = _order(world, customer, price="10000", product=product, reference="SO-OK")
    c = client_for(world.rep1)
    detail = c.get(reverse("sales:order_detail", args=[waiting.pk])).content.decode()
    assert 'data-testid="order-awaiting"' in detail and 'data-testid="order-approval"' in detail
    assert reverse("approvals:detail", args=[_request(waiting).pk]) in detail and "20%" in detail
    plain = c.get(reverse("sales:order_detail", args=[confirmed.pk])).content.decode()
    assert 'data-testid="order-approval"' not in plain and 'data-testid="order-status"' not in plain
    url = reverse("sales:order_list")
    response = c.get(url)
    assert {o.reference for o in response.context["orders"]} == {"SO-WAIT", "SO-OK"}
    # The totals are of what counts.
    assert [(t["currency"], t["total"], t["count"]) for t in response.context["totals"]] == [
        ("CNY", Decimal("10000.00"), 1)
    ]
    assert "Awaiting approval" in response.content.decode()
    assert [o.reference for o in c.get(url, {"status": "awaiting"}).context["orders"]] == ["SO-WAIT"]
    assert [o.reference for o in c.get(url, {"status": "confirmed"}).context["orders"]] == ["SO-OK"]
    assert c.get(url, {"status": "bogus"}).status_code == 200


@pytest.mark.django_db
def test_creating_on_the_page_says_it_waits_for_approval(world, client_for):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "表单待批客户")
    data = {
        "customer": customer.pk,
        "ordered_on": timezone.localdate().isoformat(),
        "currency": "CNY",
        "amount": "",
        "reference": "",
        "items_text": "",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": product.pk,
        "lines-0-name": product.name,
        "lines-0-quantity": "1",
        "lines-0-unit_price": "5000",
    }
    response = client_for(world.rep1).post(reverse("sales:order_create"), data, follow=True)
    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING
    assert "Its discount needs approval" in response.content.decode()


@pytest.mark.django_db
def test_with_no_one_to_approve_the_order_is_refused_with_nothing_saved(world):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.admin, "无人审批客户")
    # The only administrator records it: no one else could decide the steps.
    with pytest.raises(DomainError, match="No one can decide"):
        _order(world, customer, price="7000", product=product, user=world.admin)
    assert not Order.objects.exists() and not ApprovalRequest.objects.exists() and _last_deal(customer) is None


@pytest.mark.django_db
def test_another_tenants_order_approval_is_404(world, world_b, client_for):
    product = make_product(world, price="10000.00")
    order = _order(world, make_customer(world.rep1, "跨租户审批客户"), price="8000", product=product)
    request = _request(order)
    outsider = client_for(world_b.manager)
    assert outsider.get(reverse("approvals:detail", args=[request.pk])).status_code == 404
    response = outsider.post(reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "approve"})
    assert response.status_code == 404
    assert outsider.get(reverse("sales:order_detail", args=[order.pk])).status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING
    assert client_for(world.manager).get(reverse("approvals:detail", args=[request.pk])).status_code == 200


@pytest.mark.django_db
def test_the_order_list_keeps_its_query_bound_with_waiting_orders(world, client_for, django_assert_max_num_queries):
    product = make_product(world, price="10000.00")
    customer = make_customer(world.rep1, "查询数客户")
    today = timezone.localdate()
    c = client_for(world.rep1)
    url = reverse("sales:order_list")
    _order(world, customer, price="8000", product=product)
    few = queries_for(lambda: c.get(url))
    for i in range(30):
        _order(world, customer, price="8000" if i % 2 else "10000", product=product, ordered_on=today - timedelta(i))
    assert queries_for(lambda: c.get(url)) == few
    with django_assert_max_num_queries(10):
        response = c.get(url, {"status": "awaiting"})
    assert len(response.context["orders"]) == 16
