"""The public pool in a browser: the claim race message, and an extension asked for and approved."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.models import Customer
from customers.services.customer import customer_create
from customers.services.pool import customer_claim
from customers.services.tenant import default_pool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Pool-e2e-pass-1"


def make_company():
    tenant = tenant_create(
        name="E2E 公海公司", slug="e2e-pool", admin_email="admin@e2ep.test", admin_password=PASSWORD, language="en"
    )
    sales = Team.objects.get(tenant=tenant, parent=None)  # the default pool is open to it
    manager = User.objects.create_user(
        email="manager@e2ep.test", password=PASSWORD, tenant=tenant, full_name="经理甲", roles=["manager"], team=sales
    )
    sales.manager = manager
    sales.save()
    rep1 = User.objects.create_user(
        email="rep1@e2ep.test", password=PASSWORD, tenant=tenant, full_name="销售一", roles=["rep"], team=sales
    )
    rep2 = User.objects.create_user(
        email="rep2@e2ep.test", password=PASSWORD, tenant=tenant, full_name="销售二", roles=["rep"], team=sales
    )
    return tenant, manager, rep1, rep2


def log_in(page, base_url, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def test_claim_race_message(e2e_page, e2e_base_url):
    tenant, _manager, rep1, rep2 = make_company()
    admin = User.objects.get(email="admin@e2ep.test")
    customer = customer_create(
        acting_user=admin,
        data={"name": "抢手公司"},
        contact={"name": "王总", "mobile": "13800138000"},
        owner=None,
        to_pool=default_pool(tenant),
    )
    page = e2e_page
    log_in(page, e2e_base_url, rep1.email)
    page.goto("/pool/")
    row = page.locator(f"#pool-row-{customer.pk}")
    expect(row).to_contain_text("抢手公司")
    expect(row).to_contain_text("138****8000")
    expect(row).not_to_contain_text("13800138000")
    # A colleague claims it while the page is open; the click then says who was faster, without a reload.
    customer_claim(rep=rep2, customer_id=customer.pk)
    page.click(f"[data-testid=claim-{customer.pk}]")
    expect(page.locator("[data-testid=claim-error]")).to_contain_text("销售二")
    assert Customer.objects.get(pk=customer.pk).owner == rep2


def test_extension_request_and_approval(e2e_new_page, e2e_base_url):
    tenant, manager, rep1, _rep2 = make_company()
    pool = default_pool(tenant)
    pool.no_followup_days = 30
    pool.extension_days = 10
    pool.save()
    customer = customer_create(acting_user=rep1, data={"name": "快到期公司"})
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=now - dt.timedelta(days=60), last_followed_up_at=now - dt.timedelta(days=29)
    )
    page = e2e_new_page()
    log_in(page, e2e_base_url, rep1.email)
    page.goto("/pool/at-risk/")
    expect(page.locator("[data-testid=at-risk-table]")).to_contain_text("快到期公司")
    page.fill(f"[data-testid=extension-reason-{customer.pk}]", "客户下周签合同")
    page.click(f"[data-testid=extension-ask-{customer.pk}]")
    expect(page.locator("[data-testid=messages]")).to_contain_text("Your manager was asked to extend 快到期公司.")

    manager_page = e2e_new_page()
    log_in(manager_page, e2e_base_url, manager.email)
    manager_page.goto("/pool/extensions/")
    expect(manager_page.locator("[data-testid=extension-list]")).to_contain_text("客户下周签合同")
    approve = manager_page.locator("[data-testid^=approve-]").first
    approve.click()
    expect(manager_page.locator("[data-testid=extension-list]")).to_contain_text("+10")
    customer.refresh_from_db()
    assert customer.extension_days == 10
    # The rep sees the extension in the customer's ownership timeline.
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("[data-testid=ownership-timeline]")).to_contain_text("客户下周签合同")
