"""Masked phones and emails in the browser: a manager reveals one in place (htmx, under the Content-Security-Policy),
the admin sees it in the privacy log."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.services.customer import customer_create
from tests.conftest import build_world
from tests.e2e.test_csp import WATCH, log_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_manager_reveals_a_masked_phone_and_the_admin_sees_it_logged(e2e_new_page, redis_test_db):
    world = build_world("PRIV")
    world.tenant.language = "en"
    world.tenant.save()
    customer = customer_create(
        acting_user=world.rep1,
        data={"name": "苏州明远贸易有限公司"},
        contact={"name": "陈静", "mobile": "13912345678", "email": "chenjing@mingyuan.test"},
    )
    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.add_init_script(WATCH)
    log_in(page, world.manager.email)
    page.goto(reverse("customers:detail", args=[customer.pk]))
    expect(page.locator("[data-testid=masked-mobile]")).to_have_text("139****5678")
    page.click("[data-testid=reveal-mobile]")
    expect(page.locator("[data-testid=revealed-mobile]")).to_have_text("+86 139 1234 5678")
    expect(page.locator("[data-testid=reveals-left]")).to_contain_text("49 reveals left today")
    assert page.evaluate("window.__csp") == []

    admin = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(admin, world.admin.email)
    admin.goto(reverse("privacy_log"))
    expect(admin.locator("[data-testid=privacy-log] tbody tr").first).to_contain_text(world.manager.full_name)
    expect(admin.locator("[data-testid=privacy-log] tbody tr").first).to_contain_text("陈静")
