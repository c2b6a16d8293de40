"""The rules the database itself holds: even a write that skips the services cannot break them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sales.models import Appointment, AppointmentAttendee, FollowUp, Order, OrderLine

from .helpers import make_customer, make_task


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


@pytest.mark.django_db
def test_order_amount_must_be_positive_and_currency_known(world_a):
    customer = make_customer(world_a.rep1, "约束客户")
    base = {"tenant": world_a.tenant, "customer": customer, "ordered_on": date.today(), "currency": "CNY"}
    refused(lambda: Order.objects.create(**base, amount=Decimal("0")))
    refused(lambda: Order.objects.create(**base, amount=Decimal("-5")))
    refused(lambda: Order.objects.create(**{**base, "currency": "XYZ"}, amount=Decimal("5")))
    Order.objects.create(**base, amount=Decimal("0.01"))
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_order_number_unique_per_tenant_only(world_a, world_b):
    a = make_customer(world_a.rep1, "编号客户")
    b = make_customer(world_b.rep1, "编号客户")
    kw = {"ordered_on": date.today(), "currency": "CNY", "amount": Decimal("10"), "reference": "SO-1"}
    Order.objects.create(tenant=world_a.tenant, customer=a, **kw)
    refused(lambda: Order.objects.create(tenant=world_a.tenant, customer=a, **kw))
    Order.objects.create(tenant=world_b.tenant, customer=b, **kw)
    # Blank numbers do not collide.
    Order.objects.create(tenant=world_a.tenant, customer=a, **{**kw, "reference": ""})
    Order.objects.create(tenant=world_a.tenant, customer=a, **{**kw, "reference": ""})


@pytest.mark.django_db
def test_order_line_quantity_and_price(world_a):
    customer = make_customer(world_a.rep1, "行客户")
    order = Order.objects.create(
        tenant=world_a.tenant, customer=customer, ordered_on=date.today(), currency="CNY", amount=Decimal("1")
    )
    line = {"tenant": world_a.tenant, "order": order, "name": "产品"}
    refused(lambda: OrderLine.objects.create(**line, quantity=Decimal("0"), unit_price=Decimal("1")))
    refused(lambda: OrderLine.objects.create(**line, quantity=Decimal("1"), unit_price=Decimal("-1")))
    refused(lambda: OrderLine.objects.create(**{**line, "name": ""}, quantity=Decimal("1"), unit_price=Decimal("1")))


@pytest.mark.django_db
def test_appointment_end_after_start(world_a):
    now = timezone.now()
    base = {"tenant": world_a.tenant, "owner": world_a.rep1, "title": "会"}
    refused(lambda: Appointment.objects.create(**base, start_at=now, end_at=now))
    refused(lambda: Appointment.objects.create(**base, start_at=now, end_at=now - timedelta(minutes=1)))
    appointment = Appointment.objects.create(**base, start_at=now, end_at=now + timedelta(minutes=30))
    AppointmentAttendee.objects.create(tenant=world_a.tenant, appointment=appointment, user=world_a.rep2)
    refused(
        lambda: AppointmentAttendee.objects.create(tenant=world_a.tenant, appointment=appointment, user=world_a.rep2)
    )


@pytest.mark.django_db
def test_task_reminder_not_after_due_and_title_required(world_a):
    due = timezone.now() + timedelta(days=1)
    refused(lambda: make_task(world_a.rep1, due=due, remind=due + timedelta(minutes=1)))
    refused(lambda: make_task(world_a.rep1, title="", due=due))
    make_task(world_a.rep1, due=due, remind=due)


@pytest.mark.django_db
def test_follow_up_kind_outcome_and_content(world_a):
    customer = make_customer(world_a.rep1, "跟进约束")
    base = {"tenant": world_a.tenant, "customer": customer, "author": world_a.rep1, "content": "打了电话"}
    refused(lambda: FollowUp.objects.create(**{**base, "kind": "fax"}))
    refused(lambda: FollowUp.objects.create(**{**base, "outcome": "maybe"}))
    refused(lambda: FollowUp.objects.create(**{**base, "content": ""}))
    FollowUp.objects.create(**base)
