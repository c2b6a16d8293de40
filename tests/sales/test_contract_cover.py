"""Every change of a contract's status refreshes its customer's contract cover, which the pool's fall-back rules
read: signed and in effect until the end date (open-ended without one), closed on the day it was completed or
terminated (or its end date if earlier), the latest of all signed contracts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.workcalendar.selectors import local_today
from customers.models import CONTRACT_OPEN_ENDED, Customer
from sales.models import Contract, ContractStatus, Pipeline
from sales.services.contract import (
    contract_cover_sync,
    contract_create_from_quote,
    contract_set_status,
    contract_submit,
)
from sales.services.opportunity import opportunity_create
from sales.services.quote import quote_close, quote_send

from .quotes import make_quote

pytestmark = pytest.mark.django_db


def approved_contract(world, *, customer=None, ends_on=None):
    opportunity = None
    if customer is not None:
        opportunity = opportunity_create(
            acting_user=world.rep1,
            customer=customer,
            name="续约",
            pipeline=Pipeline.objects.for_tenant(world.tenant).first(),
            amount=Decimal("10000"),
            currency="CNY",
        )
    quote = make_quote(world, opportunity=opportunity)
    quote_send(acting_user=world.rep1, quote=quote)
    quote = quote_close(acting_user=world.rep1, quote=quote, accepted=True)
    contract = contract_create_from_quote(acting_user=world.rep1, quote=quote, ends_on=ends_on)
    contract_submit(acting_user=world.rep1, contract=contract)
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    contract.refresh_from_db()
    return contract


def cover_of(contract) -> dt.date | None:
    return Customer.objects.get(pk=contract.customer_id).contract_cover_until


def test_a_contract_covers_its_customer_from_signing_until_it_ends(world):
    today = local_today(world.tenant)
    contract = approved_contract(world, ends_on=today + dt.timedelta(days=30))
    assert cover_of(contract) is None  # a draft or approved contract covers nothing: never signed
    contract = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)
    assert cover_of(contract) == today + dt.timedelta(days=30)
    contract = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.ACTIVE)
    assert cover_of(contract) == today + dt.timedelta(days=30)
    # Completed early: the cover ends today, the day it closed.
    contract = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.COMPLETED)
    assert contract.ended_on == today and cover_of(contract) == today


def test_open_ended_then_terminated_then_a_new_contract(world):
    today = local_today(world.tenant)
    first = approved_contract(world)
    first = contract_set_status(acting_user=world.rep1, contract=first, status=ContractStatus.SIGNED)
    assert cover_of(first) == CONTRACT_OPEN_ENDED
    first = contract_set_status(acting_user=world.rep1, contract=first, status=ContractStatus.TERMINATED)
    assert cover_of(first) == today
    customer = Customer.objects.get(pk=first.customer_id)
    second = approved_contract(world, customer=customer, ends_on=today + dt.timedelta(days=365))
    assert cover_of(second) == today  # approved, not yet signed
    contract_set_status(acting_user=world.rep1, contract=second, status=ContractStatus.SIGNED)
    assert cover_of(second) == today + dt.timedelta(days=365)


def test_the_sync_recomputes_from_the_contracts_in_one_statement_then_the_fallback_date(world):
    today = local_today(world.tenant)
    contract = approved_contract(world, ends_on=today + dt.timedelta(days=10))
    contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)
    Customer.objects.filter(pk=contract.customer_id).update(contract_cover_until=None)
    # A closed contract whose end date came before its closing day covers until the end date.
    Contract.objects.filter(pk=contract.pk).update(
        status=ContractStatus.COMPLETED, ends_on=today - dt.timedelta(days=3), ended_on=today
    )
    with CaptureQueriesContext(connection) as queries:
        contract_cover_sync(tenant_id=world.tenant.pk, customer_ids=[contract.customer_id])
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # One UPDATE of the cover; what follows is the stored fall-back date's refresh (customers.services.fallback_date:
    # the tenant's pools and rules, then one UPDATE … FROM), the same for one customer or many.
    assert 'UPDATE "customers_customer" SET "contract_cover_until"' in statements[0]
    assert len(statements) <= 4 and "fallback_at" in statements[-1]
    assert cover_of(contract) == today - dt.timedelta(days=3)
