"""A contract's title, amount and dates change until it is signed: a new amount on a contract in approval or
approved asks for approval again; a payment plan must still add up; every change is audited. Accepting a quote
offers its contract in one click."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.errors import DomainError
from crm.models import AuditEvent
from sales.models import Contract, ContractStatus, Instalment, QuoteStatus
from sales.services.contract import contract_create_from_quote, contract_set_status, contract_submit, contract_update
from sales.services.payment import payment_plan_save
from sales.services.quote import quote_send

from .quotes import make_quote
from .test_contracts import accepted_quote

START, END = dt.date(2027, 1, 1), dt.date(2027, 12, 31)


def draft(world):
    return contract_create_from_quote(acting_user=world.rep1, quote=accepted_quote(world))  # 11300.00


def update(world, contract, user=None, **changes):
    values = {"title": contract.title, "amount": contract.amount, "starts_on": START, "ends_on": END, **changes}
    return contract_update(acting_user=user or world.rep1, contract=contract, **values)


def approvals(contract):
    return list(
        ApprovalRequest.objects.filter(kind="sales.contract", object_id=contract.pk)
        .order_by("pk")
        .values_list("status", "amount")
    )


@pytest.mark.django_db
def test_a_draft_changes_title_amount_and_dates_audited(world):
    contract = update(world, draft(world), title="年度服务合同", amount=Decimal("12000"))
    contract.refresh_from_db()
    assert (contract.title, contract.amount, contract.starts_on, contract.ends_on, contract.status) == (
        "年度服务合同",
        Decimal("12000.00"),
        START,
        END,
        ContractStatus.DRAFT,
    )
    event = AuditEvent.objects.get(action="contract.update", object_id=str(contract.pk))
    assert event.details["amount"] == ["11300.00", "12000"] and event.details["reapproval"] is False
    assert not approvals(contract)


@pytest.mark.django_db
def test_a_new_amount_in_approval_asks_again_title_keeps_it(world):
    contract = contract_submit(acting_user=world.rep1, contract=draft(world))
    update(world, contract, title="只改标题")
    assert approvals(contract) == [("pending", Decimal("11300.00"))]
    contract = update(world, contract, amount=Decimal("10000"))
    assert contract.status == ContractStatus.PENDING
    assert approvals(contract) == [("withdrawn", Decimal("11300.00")), ("pending", Decimal("10000.00"))]
    # Approved, then a new amount: back to pending with a new request.
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk, status="pending")
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED
    update(world, contract, ends_on=dt.date(2028, 6, 30))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED
    contract = update(world, contract, amount=Decimal("9000"))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PENDING
    assert approvals(contract)[-1] == ("pending", Decimal("9000.00"))
    assert AuditEvent.objects.filter(action="contract.update", details__reapproval=True).count() == 2


@pytest.mark.django_db
def test_the_plan_must_still_add_up(world):
    contract = draft(world)
    payment_plan_save(
        acting_user=world.rep1,
        contract=contract,
        instalments=[(START, Decimal("5000")), (END, Decimal("6300"))],
    )
    with pytest.raises(DomainError, match="payment plan adds up to 11,300.00, not 12,000.00") as refused:
        update(world, contract, amount=Decimal("12000"))
    assert refused.value.field == "amount"
    contract.refresh_from_db()
    assert contract.amount == Decimal("11300.00") and Instalment.objects.filter(contract=contract).count() == 2
    contract = update(world, contract, amount=Decimal("12000"), drop_plan=True)
    assert not Instalment.objects.filter(contract=contract).exists()
    # Same amount: the plan stays whatever the box says.
    payment_plan_save(acting_user=world.rep1, contract=contract, instalments=[(START, Decimal("12000"))])
    update(world, contract, title="新标题", drop_plan=True)
    assert Instalment.objects.filter(contract=contract).count() == 1


@pytest.mark.django_db
def test_signed_contracts_and_others_are_refused(world):
    contract = contract_submit(acting_user=world.rep1, contract=draft(world))
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    contract.refresh_from_db()
    with pytest.raises(PermissionDenied):
        update(world, contract, user=world.rep2, title="别人的")
    with pytest.raises(DomainError, match="end date cannot be before"):
        update(world, contract, starts_on=END, ends_on=START)
    with pytest.raises(DomainError, match="more decimals"):
        update(world, contract, amount=Decimal("100.005"))
    contract = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)
    with pytest.raises(DomainError, match="signed contract is not changed"):
        update(world, contract, title="签了再改")
    assert not AuditEvent.objects.filter(action="contract.update").exists()


@pytest.mark.django_db
def test_the_edit_page(world, world_b, client_for):
    contract = draft(world)
    c = client_for(world.rep1)
    assert 'data-testid="edit-contract"' in c.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()
    url = reverse("sales:contract_edit", args=[contract.pk])
    assert c.get(url).status_code == 200
    bad = c.post(url, {"title": "", "amount": "0"})
    assert bad.status_code == 422
    ok = c.post(url, {"title": "改过的合同", "amount": "11000.00", "starts_on": "2027-01-01", "ends_on": ""})
    assert ok.status_code == 302 and Contract.objects.get(pk=contract.pk).title == "改过的合同"
    assert client_for(world.rep2).get(url).status_code == 404  # not a contract rep2 sees
    assert client_for(world_b.admin).get(url).status_code == 404


@pytest.mark.django_db
def test_accepting_a_quote_drafts_its_contract_in_one_click(world, client_for):
    quote = make_quote(world)
    quote_send(acting_user=world.rep1, quote=quote)
    c = client_for(world.rep1)
    body = c.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    assert 'data-testid="accept-and-contract"' in body
    response = c.post(reverse("sales:quote_close", args=[quote.pk]), {"outcome": "accepted", "contract": "1"})
    contract = Contract.objects.get(quote=quote)
    assert response.status_code == 302 and response["Location"] == reverse("sales:contract_detail", args=[contract.pk])
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert (contract.amount, contract.customer_id, contract.status) == (quote.total, quote.customer_id, "draft")


@pytest.mark.django_db
def test_the_accepted_quote_offers_a_prefilled_contract(world, client_for):
    quote = accepted_quote(world)
    c = client_for(world.rep1)
    body = c.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    assert 'data-testid="contract-form"' in body and f'value="{quote.opportunity.name}"' in body
    response = c.post(
        reverse("sales:contract_from_quote", args=[quote.pk]),
        {"title": "云帆 CRM 年度合同", "starts_on": "2027-01-01", "ends_on": "2027-12-31"},
    )
    contract = Contract.objects.get(quote=quote)
    assert response.status_code == 302
    assert (contract.title, contract.starts_on, contract.ends_on) == ("云帆 CRM 年度合同", START, END)
