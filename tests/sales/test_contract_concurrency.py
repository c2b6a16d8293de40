"""Contested writes of quotes and payment collection: numbers taken at once are distinct and leave no gap; two
receipts at once never collect more than is owed; two reminder runs at once tell each step once; the job through a
real worker."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from crm.models import Notification
from crm.workcalendar.selectors import local_today
from sales import tasks
from sales.models import Contract, ContractStatus, Instalment, OverdueNotice, Quote, Receipt
from sales.services.contract import contract_create_from_quote
from sales.services.payment import contract_reminders_send, payment_plan_save, receipt_record
from sales.services.pipeline import ensure_default_pipeline
from sales.services.quote import quote_close, quote_send

from ..conftest import build_world, wait_for, worker_settled
from .quotes import make_opportunity, make_quote


def at_once(workers, fn):
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait()
            results.append(fn(i))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def signed_contract(world):
    quote = make_quote(world)
    quote_send(acting_user=world.rep1, quote=quote)
    quote = quote_close(acting_user=world.rep1, quote=quote, accepted=True)
    contract = contract_create_from_quote(acting_user=world.rep1, quote=quote)
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED)
    contract.refresh_from_db()
    return contract


@pytest.mark.django_db(transaction=True)
def test_quote_numbers_taken_at_once_are_distinct_and_without_gaps():
    world = build_world("N")
    ensure_default_pipeline(world.tenant)
    opportunity = make_opportunity(world)
    for _round in range(3):
        results, errors = at_once(4, lambda i: make_quote(world, opportunity=opportunity).number)
        assert not errors, errors
    numbers = sorted(Quote.objects.values_list("number", flat=True))
    year = local_today(world.tenant).year
    assert numbers == [f"Q-{year}-{n:04d}" for n in range(1, 13)]


@pytest.mark.django_db(transaction=True)
def test_two_receipts_at_once_never_over_collect():
    world = build_world("P")
    ensure_default_pipeline(world.tenant)
    today = local_today(world.tenant)
    for _round in range(3):
        contract = signed_contract(world)
        payment_plan_save(acting_user=world.rep1, contract=contract, instalments=[(today, contract.amount)])
        results, errors = at_once(
            2,
            lambda i, contract=contract: receipt_record(
                acting_user=world.rep1,
                contract=contract,
                received_on=today,
                amount=Decimal("10000"),
                method="bank",
            ),
        )
        assert len(results) == 1 and len(errors) == 1, (results, errors)
        assert "outstanding" in str(errors[0])
        instalment = Instalment.objects.get(contract=contract)
        assert instalment.received == Decimal("10000") <= instalment.amount


@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_tell_each_step_once():
    world = build_world("O")
    ensure_default_pipeline(world.tenant)
    today = local_today(world.tenant)
    contract = signed_contract(world)
    payment_plan_save(
        acting_user=world.rep1,
        contract=contract,
        instalments=[(today - dt.timedelta(days=2), Decimal("5000")), (today - dt.timedelta(days=9), Decimal("6300"))],
    )
    results, errors = at_once(3, lambda i: contract_reminders_send(tenant_id=world.tenant.pk))
    assert not errors, errors
    assert sum(results) == 3 and OverdueNotice.objects.count() == 3
    assert Notification.objects.filter(key__startswith="instalment-overdue:").count() == 3


@pytest.mark.django_db(transaction=True)
def test_overdue_reminders_through_a_real_worker(celery_worker):
    world = build_world("W")
    ensure_default_pipeline(world.tenant)
    today = local_today(world.tenant)
    contract = signed_contract(world)
    payment_plan_save(
        acting_user=world.rep1, contract=contract, instalments=[(today - dt.timedelta(days=1), contract.amount)]
    )
    tasks.send_contract_reminders.delay()
    assert wait_for(lambda: OverdueNotice.objects.filter(step="owner").exists()), "the job did not run"
    for _ in range(2):
        tasks.send_contract_reminders.delay()
    assert worker_settled()
    assert Notification.objects.filter(recipient=world.rep1, key__startswith="instalment-overdue:").count() == 1
    assert not Receipt.objects.exists()
