"""Quotes in a browser: a rep writes a quote with a big discount from the opportunity page and asks for approval;
the manager approves it in one click from the notification; the rep sends it and opens the customer's PDF."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.approvals.models import ApprovalRequest
from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.services.customer import customer_create
from sales.models import Pipeline, Quote, QuoteStatus
from sales.services.opportunity import opportunity_create
from sales.services.product import product_save

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Quotes-e2e-pass-1"


def make_company():
    tenant = tenant_create(
        name="E2E 报价公司", slug="e2e-quotes", admin_email="admin@e2eq.test", admin_password=PASSWORD, language="en"
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    manager = User.objects.create_user(
        email="manager@e2eq.test", password=PASSWORD, tenant=tenant, full_name="经理甲", roles=["manager"], team=sales
    )
    sales.manager = manager
    sales.save()
    rep = User.objects.create_user(
        email="rep@e2eq.test", password=PASSWORD, tenant=tenant, full_name="销售一", roles=["rep"], team=sales
    )
    admin = User.objects.get(email="admin@e2eq.test")
    product = product_save(
        acting_user=admin,
        data={
            "code": "CRM-PRO",
            "name": "CRM 专业版",
            "list_price": Decimal("10000"),
            "currency": "CNY",
            "tax_rate": Decimal("13"),
            "is_active": True,
        },
    )
    customer = customer_create(acting_user=rep, data={"name": "报价客户有限公司"})
    opportunity = opportunity_create(
        acting_user=rep,
        customer=customer,
        name="年度 CRM 采购",
        pipeline=Pipeline.objects.filter(tenant=tenant).first(),
        amount=Decimal("20000"),
        currency="CNY",
    )
    return manager, rep, product, opportunity


def log_in(page, base_url, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def test_quote_approval_and_pdf(e2e_new_page, e2e_base_url):
    manager, rep, product, opportunity = make_company()

    page = e2e_new_page()
    log_in(page, e2e_base_url, rep.email)
    page.goto(f"/opportunities/{opportunity.pk}/")
    page.click("[data-testid=new-quote]")
    page.wait_for_load_state("load")
    page.select_option("select[name=lines-0-product]", str(product.pk))
    page.fill("input[name=lines-0-quantity]", "2")
    page.fill("input[name=lines-0-discount_pct]", "15")
    page.click("[data-testid=save-quote]")
    expect(page.locator("[data-testid=quote-status]")).to_have_text("Draft")
    expect(page.locator("[data-testid=quote-total]")).to_contain_text("19,210.00")
    page.click("[data-testid=submit-quote]")
    expect(page.locator("[data-testid=quote-status]")).to_have_text("Waiting for approval")
    quote = Quote.objects.get()
    approval = ApprovalRequest.objects.get(kind="sales.quote", object_id=quote.pk)

    manager_page = e2e_new_page(viewport="phone")
    log_in(manager_page, e2e_base_url, manager.email)
    manager_page.goto("/notifications/")
    decision = manager_page.locator(f"[data-testid=decision-{approval.pk}]").first
    decision.locator("input[name=comment]").fill("同意")
    decision.locator(f"[data-testid=approve-{approval.pk}]").click()
    expect(manager_page.locator(f"[data-testid=decision-{approval.pk}]").first).to_contain_text("Approved")

    page.reload()
    expect(page.locator("[data-testid=quote-status]")).to_have_text("Approved")
    expect(page.locator("[data-testid=quote-approvals]")).to_contain_text("同意")
    page.click("[data-testid=send-quote]")
    expect(page.locator("[data-testid=quote-status]")).to_have_text("Sent")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.SENT

    pdf = page.request.get(f"{e2e_base_url}/quotes/{quote.pk}/pdf/")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
