"""A rep's day in the browser: on a phone, the customer page's sticky action bar (call, follow-up, task) and the
day the customer falls back to the pool; the list's filters folded into one button; and, at a desk, a customer
import that the holdings cap cuts short, said in the preview before anything is saved."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.models import Customer
from customers.services.customer import customer_create
from customers.services.fallback_date import fallback_at_refresh
from customers.services.tenant import default_pool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def make_rep(slug: str):
    tenant = tenant_create(
        name=f"E2E {slug}",
        slug=slug,
        admin_email=f"admin@{slug}.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    rep = User.objects.create_user(
        email=f"rep@{slug}.test", password="Rep-pass-e2e-1", tenant=tenant, full_name="王一", roles=["rep"]
    )
    return tenant, rep


def log_in(page, base_url, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", "Rep-pass-e2e-1")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def test_on_a_phone_the_customer_page_has_an_action_bar_and_the_fall_back_day(e2e_new_page, e2e_base_url):
    tenant, rep = make_rep("e2e-day")
    pool = default_pool(tenant)
    pool.no_followup_days = 30
    pool.save()
    customer = customer_create(
        acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张三", "mobile": "13812345678"}
    )
    Customer.objects.filter(pk=customer.pk).update(owned_since=timezone.now() - dt.timedelta(days=26))
    fallback_at_refresh(tenant=tenant, ids=[customer.pk])  # the stored date follows the clock moved behind its back
    day = (timezone.localtime(timezone.now(), tenant.tzinfo).date() + dt.timedelta(days=4)).isoformat()

    page = e2e_new_page(viewport="phone", locale="en-US")
    log_in(page, e2e_base_url, rep.email)
    page.goto("/customers/")
    page.wait_for_load_state("load")
    # The first screen shows records; the filters wait behind one button.
    expect(page.locator("#customer-filters")).to_be_hidden()
    expect(page.locator("[data-testid=filter-toggle]")).to_be_visible()
    page.click("[data-testid=filter-toggle]")
    expect(page.locator("#customer-filters")).to_be_visible()

    page.goto(f"/customers/{customer.pk}/")
    page.wait_for_load_state("load")
    bar = page.locator("[data-testid=action-bar]")
    expect(bar).to_be_visible()
    expect(bar.locator("[data-testid=action-call]")).to_have_attribute("href", "tel:+8613812345678")
    expect(bar.locator("[data-testid=action-task]")).to_have_attribute("href", f"/tasks/new/?customer={customer.pk}")
    expect(page.locator("[data-testid=fallback-day] time")).to_have_attribute("datetime", day)
    expect(page.locator("[data-testid=extension-ask]")).to_be_visible()
    # "Follow-up" opens the form; logging it moves the day 30 days on.
    bar.locator("[data-testid=action-followup]").click()
    form = page.locator("[data-testid=followup-form]")
    expect(form).to_be_visible()
    form.locator("textarea[name=content]").fill("电话沟通了采购计划")
    form.locator("button[type=submit]").first.click()
    expect(page.locator("[data-testid=followup-logged]")).to_be_visible()
    page.reload()
    page.wait_for_load_state("load")
    later = (timezone.localtime(timezone.now(), tenant.tzinfo).date() + dt.timedelta(days=30)).isoformat()
    expect(page.locator("[data-testid=fallback-day] time")).to_have_attribute("datetime", later)


def test_the_import_preview_says_what_the_cap_refuses(e2e_page, e2e_base_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant, rep = make_rep("e2e-cap")
    tenant.max_customers_per_rep = 3
    tenant.save(update_fields=["max_customers_per_rep"])
    customer_create(acting_user=rep, data={"name": "已有客户有限公司"})
    rows = "".join(f"导入公司{i}有限公司,1380000{i:04d}\n" for i in range(4))
    page = e2e_page
    log_in(page, e2e_base_url, rep.email)
    page.goto("/customers/import/")
    page.set_input_files(
        "input[name=file]",
        {"name": "客户.csv", "mimeType": "text/csv", "buffer": ("客户名称,手机\n" + rows).encode("utf-8-sig")},
    )
    page.click("[data-testid=import-upload]")
    page.click("[data-testid=import-check]")
    expect(page.locator("[data-testid=count-valid]")).to_have_text("2")
    expect(page.locator("[data-testid=count-invalid]")).to_have_text("2")
    expect(page.locator("[data-testid=import-notice]")).to_contain_text(
        "2 rows will be refused: 王一 holds 1 customers and may hold at most 3, so only 2 more fit."
    )
    expect(page.locator("tr[data-row='4'] [data-testid=row-note]")).to_contain_text("Over the holdings cap")
    assert Customer.objects.filter(owner=rep).count() == 1
    page.click("[data-testid=import-commit]")
    expect(page.locator("[data-testid=import-done]")).to_contain_text("2 customers imported, 2 rows rejected.")
    assert Customer.objects.filter(owner=rep).count() == 3


def test_slash_focuses_the_top_bar_search_and_results_are_grouped(e2e_page, e2e_base_url):
    tenant, rep = make_rep("e2e-find")
    customer_create(acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张三"})
    page = e2e_page
    log_in(page, e2e_base_url, rep.email)
    page.wait_for_load_state("load")
    page.keyboard.press("/")
    expect(page.locator("[data-testid=global-search]")).to_be_focused()
    page.keyboard.type("hzyf")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=search-group-customers]")).to_contain_text("杭州云帆科技有限公司")
    page.click("[data-testid=search-hit]")
    expect(page.locator("[data-testid=customer-name]")).to_have_text("杭州云帆科技有限公司")
