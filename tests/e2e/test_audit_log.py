"""The audit log in the browser: a manager's bulk transfer reads as one sentence in the admin's language, English
and then Chinese, and expanding it lists the customers (htmx, under the Content-Security-Policy)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.services.customer import customer_create
from customers.services.transfer import customer_transfer
from tests.conftest import build_world
from tests.e2e.test_csp import WATCH, log_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_admin_reads_a_bulk_transfer_as_one_sentence_in_english_and_chinese(e2e_new_page, redis_test_db):
    world = build_world("AUD")
    world.admin.language = "en"
    world.admin.save(update_fields=["language"])
    customers = [
        customer_create(acting_user=world.rep1, data={"name": name}, contact={"name": f"{name}联系人"})
        for name in ("苏州明远贸易有限公司", "杭州云帆科技有限公司")
    ]
    customer_transfer(acting_user=world.manager, customers=customers, to_owner=world.rep2, reason="人员调整")

    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.add_init_script(WATCH)
    log_in(page, world.admin.email)
    page.goto(reverse("settings:audit") + "?kind=customer")
    page.wait_for_load_state("load")
    transfer = page.locator("[data-testid=audit-event][data-action='customer.transfer']")
    expect(transfer.locator("[data-testid=audit-sentence]")).to_have_text(
        "AUD 经理 transferred 2 customers to AUD 销售二: 人员调整"
    )
    transfer.locator("summary").click()
    items = transfer.locator("[data-testid=audit-item-list] a")
    expect(items).to_have_count(2)
    expect(items.first).to_have_text("苏州明远贸易有限公司")
    assert page.evaluate("window.__csp") == []

    world.admin.language = "zh-hans"
    world.admin.save(update_fields=["language"])
    page.reload()
    page.wait_for_load_state("load")
    expect(transfer.locator("[data-testid=audit-sentence]")).to_have_text(
        "AUD 经理 转移了 2 个客户给 AUD 销售二：人员调整"
    )
    expect(page.locator("[data-action='customer.create'] [data-testid=audit-sentence]").first).to_contain_text(
        "AUD 销售一 创建了客户"
    )
