"""RFM scores: quintiles within the tenant on hand-computed data, the named cells, voided / old / other tenants'
orders never counting, an idempotent job, and the job through a real worker."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.services.customer import customer_create
from marketing import tasks
from marketing.models import RfmScore, RfmSettings
from marketing.services.rfm import months_before, rfm_compute
from sales.models import Order
from tests.conftest import build_world, wait_for, worker_settled

from .helpers import at_shanghai

NOW = at_shanghai(2026, 6, 15, 12)
TODAY = dt.date(2026, 6, 15)


def _order(customer, day, amount, **fields):
    return Order.objects.create(
        tenant_id=customer.tenant_id,
        customer=customer,
        ordered_on=day,
        amount=Decimal(amount),
        currency=fields.pop("currency", "CNY"),
        **fields,
    )


def ten_customers(user):
    """Customer i (0–9) has i + 1 orders of 100 each, the last (10 − i) × 10 days ago: R, F and M all rise with i,
    so the quintiles are the pairs (0, 1) → 1, (2, 3) → 2 … (8, 9) → 5."""
    customers = []
    for i in range(10):
        customer = customer_create(acting_user=user, data={"name": f"RFM客户{i}"}, contact={"name": f"联系人{i}"})
        last = TODAY - dt.timedelta(days=(10 - i) * 10)
        for k in range(i + 1):
            _order(customer, last - dt.timedelta(days=k), "100")
        customers.append(customer)
    return customers


def scores(tenant):
    return {
        s.customer.name: (s.recency, s.frequency, s.monetary, s.cell)
        for s in RfmScore.objects.filter(tenant=tenant).select_related("customer")
    }


@pytest.mark.django_db
def test_quintiles_and_cells_on_known_data(world_a, world_b):
    customers = ten_customers(world_a.rep1)
    # Never counted: a voided order, orders awaiting or refused discount approval, one before the 12-month window,
    # and another tenant's big orders.
    _order(customers[0], TODAY, "99999", voided_at=NOW, void_reason="录错")
    _order(customers[0], TODAY, "99999", status="awaiting")
    _order(customers[2], TODAY, "99999", status="rejected")
    _order(customers[1], TODAY - dt.timedelta(days=400), "99999")
    stranger = customer_create(acting_user=world_b.rep1, data={"name": "别家客户"}, contact={"name": "别家"})
    for k in range(20):
        _order(stranger, TODAY - dt.timedelta(days=k), "99999")
    # Only old orders: unscored.
    old = customer_create(acting_user=world_a.rep1, data={"name": "老客户"}, contact={"name": "老联系人"})
    _order(old, TODAY - dt.timedelta(days=500), "500")

    result = rfm_compute(tenant_id=world_a.tenant.pk, now=NOW)

    assert result == {"scored": 10, "changed": 10, "removed": 0}
    expected_cells = ["lost", "lost", "hibernating", "hibernating", "need_attention", "need_attention"]
    expected_cells += ["loyal", "loyal", "champions", "champions"]
    assert scores(world_a.tenant) == {
        f"RFM客户{i}": (i // 2 + 1, i // 2 + 1, i // 2 + 1, expected_cells[i]) for i in range(10)
    }
    row = RfmScore.objects.get(customer=customers[9])
    assert (row.orders, row.amount, row.last_order_on) == (10, Decimal("1000.00"), TODAY - dt.timedelta(days=10))
    assert not RfmScore.objects.filter(tenant=world_b.tenant).exists()


@pytest.mark.django_db
def test_ties_get_one_score_and_cells_follow_r_against_fm(world_a):
    # Four customers, one order each of the same amount, on two dates: F and M tie for all (score 1), R splits.
    names = []
    for i, days_ago in enumerate((5, 5, 50, 50)):
        customer = customer_create(acting_user=world_a.rep1, data={"name": f"同额{i}"}, contact={"name": f"同{i}"})
        _order(customer, TODAY - dt.timedelta(days=days_ago), "300")
        names.append(customer.name)
    rfm_compute(tenant_id=world_a.tenant.pk, now=NOW)
    # rank 1 → 1 + ⌊5·0/4⌋ = 1; rank 3 → 1 + ⌊5·2/4⌋ = 3. R3 against FM1: about to sleep.
    assert scores(world_a.tenant) == {
        "同额0": (3, 1, 1, "about_to_sleep"),
        "同额1": (3, 1, 1, "about_to_sleep"),
        "同额2": (1, 1, 1, "lost"),
        "同额3": (1, 1, 1, "lost"),
    }


@pytest.mark.django_db
def test_the_job_is_idempotent_and_follows_the_orders(world_a):
    customers = ten_customers(world_a.rep1)
    rfm_compute(tenant_id=world_a.tenant.pk, now=NOW)
    before = scores(world_a.tenant)
    assert rfm_compute(tenant_id=world_a.tenant.pk, now=NOW) == {"scored": 10, "changed": 0, "removed": 0}
    assert scores(world_a.tenant) == before
    # The best customer's orders are voided: it leaves the scores; the others are rescored among nine.
    Order.objects.filter(customer=customers[9]).update(voided_at=NOW, void_reason="退货")
    result = rfm_compute(tenant_id=world_a.tenant.pk, now=NOW)
    assert result["scored"] == 9 and result["removed"] == 1
    assert "RFM客户9" not in scores(world_a.tenant)


@pytest.mark.django_db
def test_the_window_is_the_tenants(world_a):
    customers = ten_customers(world_a.rep1)
    _order(customers[0], TODAY - dt.timedelta(days=200), "100")
    RfmSettings.objects.create(tenant=world_a.tenant, window_months=4)
    assert months_before(TODAY, 4) == dt.date(2026, 2, 15)
    assert months_before(dt.date(2026, 5, 31), 3) == dt.date(2026, 2, 28)
    rfm_compute(tenant_id=world_a.tenant.pk, now=NOW)
    # Customer 0's last orders were 100 days ago, inside four months; its order 200 days ago is not counted.
    assert RfmScore.objects.get(customer=customers[0]).orders == 1


@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_through_a_real_worker(celery_worker):
    world_a = build_world("RA")
    world_b = build_world("RB")
    ten_customers(world_a.rep1)
    stranger = customer_create(acting_user=world_b.rep1, data={"name": "别家客户"}, contact={"name": "别家"})
    _order(stranger, dt.date.today(), "100")
    # What beat does nightly: the dispatcher fans out one task per tenant with orders; then it runs again.
    tasks.compute_rfm.delay()
    assert wait_for(lambda: RfmScore.objects.count() == 11), "scores not computed"
    first = dict(RfmScore.objects.values_list("customer_id", "updated_at"))
    tasks.compute_rfm.delay()
    tasks.compute_tenant_rfm.delay(world_a.tenant.pk)
    assert worker_settled()
    assert dict(RfmScore.objects.values_list("customer_id", "updated_at")) == first
    assert RfmScore.objects.filter(tenant=world_b.tenant).get().cell == "lost"
