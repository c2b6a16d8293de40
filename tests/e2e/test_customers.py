"""A rep creates a customer in the browser, hits the duplicate refusal (防撞单), and finds the customer in the list."""

import re

import pytest
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_create_customer_duplicate_refusal_and_list_search(e2e_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 客户公司",
        slug="e2e-cust",
        admin_email="admin@e2ec.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    User.objects.create_user(
        email="rep1@e2ec.test", password="Rep-pass-e2e-1", tenant=tenant, full_name="王一", roles=["rep"]
    )
    User.objects.create_user(
        email="rep2@e2ec.test", password="Rep-pass-e2e-2", tenant=tenant, full_name="李二", roles=["rep"]
    )
    page = e2e_page

    def log_in(email, password):
        page.goto("/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        page.click("[data-testid=login-submit]")
        expect(page).to_have_url(f"{e2e_base_url}/")

    def log_out():
        page.click("[data-testid=user-menu]")
        page.click("[data-testid=logout]")
        # Logged out once the login page is back: only then may the next user's log-in start.
        expect(page).to_have_url(re.compile(r"/login/"))

    log_in("rep1@e2ec.test", "Rep-pass-e2e-1")
    page.goto("/customers/new/")
    page.fill("input[name=name]", "杭州云帆科技有限公司")
    page.fill("input[name=contact_name]", "张三")
    page.fill("input[name=contact_mobile]", "138 1234 5678")
    page.click("[data-testid=save-customer]")
    expect(page.locator("[data-testid=customer-name]")).to_have_text("杭州云帆科技有限公司")
    log_out()

    # A colleague enters the same company with the phone written another way: refused, saying who holds it.
    log_in("rep2@e2ec.test", "Rep-pass-e2e-2")
    page.goto("/customers/new/")
    page.fill("input[name=name]", "杭州云帆科技")
    page.fill("input[name=contact_name]", "张三")
    page.fill("input[name=contact_mobile]", "+86 13812345678")
    page.click("[data-testid=save-customer]")
    error = page.locator(".invalid-feedback").first
    expect(error).to_contain_text("王一")
    expect(page.locator("input[name=name]")).to_have_value("杭州云帆科技")  # nothing the user typed is lost
    log_out()

    # The owner finds it in the list, by pinyin initials, without a full page reload (htmx).
    log_in("rep1@e2ec.test", "Rep-pass-e2e-1")
    page.goto("/customers/")
    page.fill("[data-testid=customer-search]", "hzyf")
    expect(page.locator("[data-testid=customer-table] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=customer-table]")).to_contain_text("杭州云帆科技有限公司")
    page.fill("[data-testid=customer-search]", "nothing-like-it")
    expect(page.locator("[data-testid=customer-table]")).not_to_contain_text("杭州云帆科技有限公司")
    # The URL keeps the filter, so it can be bookmarked (htmx pushes it once the swap is done).
    expect(page).to_have_url(re.compile(r"[?&]q=nothing-like-it"))
