"""A manager's lists in the browser: the header checkbox ticks and unticks every row for a bulk action, a list's
filters are saved under a name in the saved-views menu and brought back from it, and the main navigation's Sales
dropdown leads to the leads list."""

import re

import pytest
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.models import Customer
from customers.services.customer import customer_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_select_all_saved_views_and_the_sales_menu(e2e_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 列表公司",
        slug="e2e-lists",
        admin_email="admin@e2el.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    manager = User.objects.create_user(
        email="manager@e2el.test", password="Mgr-pass-e2e-1", tenant=tenant, full_name="赵经理", roles=["manager"]
    )
    for name, status in (("云帆科技", "customer"), ("星河贸易", "customer"), ("海纳物流", "potential")):
        customer_create(acting_user=manager, data={"name": name, "status": status})
    assert Customer.objects.filter(tenant=tenant).count() == 3
    page = e2e_page
    page.goto("/login/")
    page.fill("input[name=username]", "manager@e2el.test")
    page.fill("input[name=password]", "Mgr-pass-e2e-1")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    page.goto("/customers/")
    rows = page.locator("[data-testid=customer-table] tbody input[name=selected]")
    expect(rows).to_have_count(3)
    page.check("[data-testid=select-all]")
    for i in range(3):
        expect(rows.nth(i)).to_be_checked()
    page.uncheck("[data-testid=select-all]")
    for i in range(3):
        expect(rows.nth(i)).not_to_be_checked()

    page.goto("/customers/?status=customer")
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(2)
    menu = page.locator("[data-testid=saved-views]")
    menu.locator("button.dropdown-toggle").click()
    page.fill("[data-testid=saved-view-name]", "成交客户")
    page.click("[data-testid=saved-view-save]")
    page.goto("/customers/")
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(3)
    menu.locator("button.dropdown-toggle").click()
    page.locator("[data-testid=saved-view]", has_text="成交客户").click()
    expect(page).to_have_url(f"{e2e_base_url}/customers/?status=customer")
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(2)

    sales = page.locator("[data-testid=nav-group-sales]")
    sales.locator(".dropdown-toggle").click()
    sales.get_by_role("link", name="Leads").click()
    expect(page).to_have_url(f"{e2e_base_url}/leads/")
    expect(sales.locator(".dropdown-toggle")).to_have_class(re.compile(r"\bactive\b"))
