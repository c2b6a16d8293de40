"""Care coupons redeemed on the order form: the customer's own, unexpired, unused, above the minimum, once — also
when two orders use one code at once — and counted on the campaign."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from marketing.models import Coupon
from marketing.selectors.care import coupon_figures
from marketing.services.greeting import greetings_run
from sales.models import Order
from sales.services.order import order_create

from ..conftest import build_world
from .helpers import birthday_campaign, make_contact


def issue_coupon(world, name="有券的客户") -> Coupon:
    """A birthday greeting today (tenant-local) with its coupon (50 off from 200, 30 days)."""
    from crm.workcalendar.selectors import local_today

    birthday_campaign(world.tenant, send_hour=0)
    today = local_today(world.tenant)
    born = dt.date(1992, 2, 29) if (today.month, today.day) == (2, 29) else today.replace(year=1990)
    make_contact(world.rep1, name, birthday=born)
    greetings_run(tenant_id=world.tenant.pk)
    return Coupon.objects.get(tenant=world.tenant)


def order_form(customer, **overrides):
    return {
        "customer": customer.pk,
        "ordered_on": timezone.localdate().isoformat(),
        "currency": "CNY",
        "amount": "800.00",
        "reference": "",
        "items_text": "续费",
        "notes": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        **overrides,
    }


@pytest.mark.django_db
def test_a_rep_redeems_the_customers_coupon_once_on_the_order_form(world_a, client_for):
    coupon = issue_coupon(world_a)
    client = client_for(world_a.rep1)
    page = client.get(reverse("sales:order_create"), {"customer": coupon.customer_id})
    assert 'name="coupon_code"' in page.content.decode()
    response = client.post(reverse("sales:order_create"), order_form(coupon.customer, coupon_code=coupon.code.lower()))
    assert response.status_code == 302
    coupon.refresh_from_db()
    order = Order.objects.get()
    assert coupon.order == order and coupon.redeemed_by == world_a.rep1 and coupon.order_amount == Decimal("800.00")
    # The coupon's 50 off is taken from the order's total, and the order's page says so.
    assert (order.amount, order.coupon_discount) == (Decimal("750.00"), Decimal("50.00"))
    page = client.get(reverse("sales:order_detail", args=[order.pk])).content.decode()
    assert "750.00" in page and coupon.code in page and "50.00" in page and "800.00" in page
    assert coupon_figures(world_a.tenant.pk)[coupon.campaign_id]["redeemed"] == 1
    # A second use is refused, and that order is not recorded either.
    again = client.post(reverse("sales:order_create"), order_form(coupon.customer, coupon_code=coupon.code))
    assert again.status_code == 422 and Order.objects.count() == 1


@pytest.mark.django_db
def test_a_coupon_of_another_customer_expired_or_below_the_minimum_is_refused(world_a, world_b):
    coupon = issue_coupon(world_a)
    other = make_contact(world_a.rep1, "别的客户").customer
    today = timezone.localdate()
    cases = [
        (other, "800", "no coupon"),
        (coupon.customer, "100", "at least"),
    ]
    for customer, amount, message in cases:
        with pytest.raises(DomainError, match=message):
            order_create(
                acting_user=world_a.rep1,
                customer=customer,
                ordered_on=today,
                currency="CNY",
                amount=Decimal(amount),
                extension_data={"coupon_code": coupon.code},
            )
    Coupon.objects.filter(pk=coupon.pk).update(expires_on=today - dt.timedelta(days=1))
    with pytest.raises(DomainError, match="expired"):
        order_create(
            acting_user=world_a.rep1,
            customer=coupon.customer,
            ordered_on=today,
            currency="CNY",
            amount=Decimal("800"),
            extension_data={"coupon_code": coupon.code},
        )
    assert not Order.objects.exists()
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None


@pytest.mark.django_db(transaction=True)
def test_two_orders_using_one_code_at_once_redeem_it_once():
    world = build_world("K")
    coupon = issue_coupon(world)
    workers = 4
    barrier = threading.Barrier(workers)
    won, refused, errors = [], [], []

    def run():
        try:
            barrier.wait()
            order_create(
                acting_user=world.rep1,
                customer=coupon.customer,
                ordered_on=timezone.localdate(),
                currency="CNY",
                amount=Decimal("800"),
                extension_data={"coupon_code": coupon.code},
            )
            won.append(1)
        except DomainError:
            refused.append(1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert (len(won), len(refused)) == (1, workers - 1)
    assert Order.objects.count() == 1
    coupon.refresh_from_db()
    assert coupon.order == Order.objects.get()
    order = Order.objects.get()
    assert (order.amount, order.coupon_discount, order.coupon_code) == (
        Decimal("750.00"),
        Decimal("50.00"),
        coupon.code,
    )


def record(world, coupon, amount="800", currency="CNY"):
    return order_create(
        acting_user=world.rep1,
        customer=coupon.customer,
        ordered_on=timezone.localdate(),
        currency=currency,
        amount=Decimal(amount),
        extension_data={"coupon_code": coupon.code},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, value, amount, discount",
    [
        ("amount", "50", "800", "50.00"),
        ("percent", "15", "333.30", "50.00"),  # 49.995 rounded half-up
        ("percent", "10", "333.33", "33.33"),  # 33.333
        ("percent", "12.5", "1000", "125.00"),
    ],
)
def test_the_coupon_takes_its_discount_off_the_orders_total(world_a, kind, value, amount, discount):
    coupon = issue_coupon(world_a)
    Coupon.objects.filter(pk=coupon.pk).update(kind=kind, value=Decimal(value), min_order=0)
    order = record(world_a, coupon, amount)
    order.refresh_from_db()
    assert order.coupon_discount == Decimal(discount)
    assert order.amount == Decimal(amount) - Decimal(discount)
    assert order.amount_before_coupon == Decimal(amount)


@pytest.mark.django_db
def test_a_coupon_worth_the_whole_order_or_in_another_currency_is_refused_with_nothing_saved(world_a):
    coupon = issue_coupon(world_a)
    Coupon.objects.filter(pk=coupon.pk).update(min_order=0)
    with pytest.raises(DomainError, match="as much as the order"):
        record(world_a, coupon, "50")
    with pytest.raises(DomainError, match="the order is in USD"):
        record(world_a, coupon, "800", currency="USD")
    assert not Order.objects.exists()
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None


@pytest.mark.django_db
def test_voiding_the_order_gives_the_coupon_back_to_use_again(world_a):
    from crm.models import AuditEvent
    from sales.services.order import order_void

    coupon = issue_coupon(world_a)
    order = record(world_a, coupon)
    order_void(acting_user=world_a.rep1, order=order, reason="录错了")
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None and coupon.order is None and coupon.redeemed_by is None
    returned = AuditEvent.objects.get(action="coupon.return")
    assert returned.details == {"order": order.pk, "reason": "void"}
    # The voided order keeps what it had; the coupon is usable on a new order.
    order.refresh_from_db()
    assert (order.coupon_code, order.coupon_discount, order.amount) == (
        coupon.code,
        Decimal("50.00"),
        Decimal("750.00"),
    )
    again = record(world_a, coupon)
    coupon.refresh_from_db()
    assert coupon.order == again


@pytest.mark.django_db
def test_a_rejected_discount_gives_the_coupon_back(world_a):
    from types import SimpleNamespace

    from crm.approvals.models import ApprovalRequest
    from sales.models import OrderStatus
    from sales.services.order import order_decided

    coupon = issue_coupon(world_a)
    order = record(world_a, coupon)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.AWAITING)
    rejected = SimpleNamespace(pk=1, status=ApprovalRequest.Status.REJECTED, decided_by=world_a.manager)
    order_decided(rejected, order)
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None and coupon.order is None
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
