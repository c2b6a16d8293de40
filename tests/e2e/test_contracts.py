"""Contracts in a browser: the customer accepts a quote and the rep drafts its contract in the same click, corrects
its title, asks for approval; the manager approves from the notification on a phone; the rep marks it signed, makes
a payment plan, records a receipt and opens the contract's PDF."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.approvals.models import ApprovalRequest
from crm.workcalendar.selectors import local_today
from sales.models import Contract, Instalment, Quote
from sales.services.quote import QuoteLineInput, quote_create, quote_send

from .test_quotes import log_in, make_company

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_from_accepted_quote_to_receipt(e2e_new_page, e2e_base_url):
    manager, rep, product, opportunity = make_company()
    quote = quote_create(
        acting_user=rep, opportunity=opportunity, lines=[QuoteLineInput(quantity=Decimal("1"), product=product)]
    )
    quote_send(acting_user=rep, quote=quote)  # 10000 + 13 % = 11300.00

    page = e2e_new_page()
    log_in(page, e2e_base_url, rep.email)
    page.goto(f"/quotes/{quote.pk}/")
    page.click("[data-testid=accept-and-contract]")
    expect(page.locator("[data-testid=contract-status]")).to_contain_text("Draft")
    expect(page.locator("[data-testid=contract-amount]")).to_contain_text("11,300.00")
    contract = Contract.objects.get(quote=quote)
    assert Quote.objects.get(pk=quote.pk).status == "accepted"

    page.click("[data-testid=edit-contract]")
    page.fill("input[name=title]", "年度 CRM 采购合同")
    page.click("[data-testid=save-contract]")
    expect(page.locator("body")).to_contain_text("年度 CRM 采购合同")
    page.click("[data-testid=submit-contract]")
    expect(page.locator("[data-testid=contract-status]")).to_contain_text("Waiting for approval")
    approval = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)

    manager_page = e2e_new_page(viewport="phone")
    log_in(manager_page, e2e_base_url, manager.email)
    manager_page.goto("/notifications/")
    decision = manager_page.locator(f"[data-testid=decision-{approval.pk}]").first
    decision.locator(f"[data-testid=approve-{approval.pk}]").click()
    expect(manager_page.locator(f"[data-testid=decision-{approval.pk}]").first).to_contain_text("Approved")

    page.reload()
    expect(page.locator("[data-testid=contract-status]")).to_contain_text("Approved")
    page.click("[data-testid=contract-to-signed]")
    expect(page.locator("[data-testid=contract-status]")).to_contain_text("Signed")

    today = local_today(contract.tenant)
    page.fill("input[name=plan-0-due_on]", today.isoformat())
    page.fill("input[name=plan-0-amount]", "5000")
    page.fill("input[name=plan-1-due_on]", (today + dt.timedelta(days=90)).isoformat())
    page.fill("input[name=plan-1-amount]", "6000")
    page.click("[data-testid=save-plan]")
    expect(page.locator("[data-testid=plan-errors]")).to_contain_text("11,300.00")
    assert not Instalment.objects.filter(contract=contract).exists()
    page.fill("input[name=plan-1-amount]", "6300")
    page.click("[data-testid=save-plan]")
    expect(page.locator("[data-testid=instalments] tbody tr")).to_have_count(2)

    receipt = page.locator("[data-testid=receipt-form]")
    receipt.locator("input[name=amount]").fill("5000")
    receipt.locator("input[name=reference]").fill("ICBC-0001")
    page.click("[data-testid=save-receipt]")
    expect(page.locator("[data-testid=contract-received]")).to_contain_text("5,000.00")
    expect(page.locator("[data-testid=contract-outstanding]")).to_contain_text("6,300.00")
    expect(page.locator("[data-testid=receipts]")).to_contain_text("ICBC-0001")

    pdf = page.request.get(f"{e2e_base_url}/contracts/{contract.pk}/pdf/")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
