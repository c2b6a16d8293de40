"""Marketing campaigns in a browser: a manager creates a campaign with its attribution code, leads carrying the
code (one converted and won) show on its ROI page, the leads figure opens the lead list filtered by the campaign,
and the page reads at phone width."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from marketing.models import MarketingCampaign

from ..marketing.campaigns import campaign_lead, won_deal
from .navigation import open_from_menu

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Campaign-e2e-pass-1"


def _login(page, base_url, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def test_a_manager_creates_a_campaign_and_reads_its_roi(e2e_new_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 活动公司",
        slug="e2e-campaign",
        admin_email="admin@e2ecamp.test",
        admin_password=PASSWORD,
        language="en",
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    manager = User.objects.create_user(
        email="manager@e2ecamp.test",
        password=PASSWORD,
        tenant=tenant,
        full_name="经理甲",
        roles=["manager"],
        team=sales,
    )
    sales.manager = manager
    sales.save(update_fields=["manager"])

    page = e2e_new_page(viewport="desktop", locale="en-US")
    _login(page, e2e_base_url, manager.email)
    open_from_menu(page, "marketing", "Campaigns")
    page.click("[data-testid=new-marketing-campaign]")
    page.fill("#id_name", "2026 上海工业博览会")
    page.select_option("#id_kind", "event")
    page.fill("#id_code", "expo-2026")
    page.fill("#id_actual_cost", "40000")
    page.fill("#id_budget", "50000")
    page.click("[data-testid=save-marketing-campaign]")
    expect(page.get_by_test_id("campaign-code")).to_have_text("expo-2026")
    expect(page.get_by_test_id("campaign-form-link")).to_have_value(
        re.compile(r"/f/e2e-campaign/lead/\?utm_campaign=expo-2026$")
    )

    # Leads arrive with the code: one converted into a customer whose deal of ¥100,000 was won.
    won_deal(manager, campaign_lead(manager, "李雷", "expo-2026"), "100000")
    campaign_lead(manager, "张三", "expo-2026")
    assert MarketingCampaign.objects.get().actual_cost == Decimal("40000")
    page.reload()
    expect(page.get_by_test_id("figure-leads")).to_contain_text("2")
    expect(page.get_by_test_id("figure-won")).to_contain_text("100,000")
    expect(page.get_by_test_id("figure-roi")).to_contain_text("150.0%")
    expect(page.get_by_test_id("figure-cpl")).to_contain_text("20,000.00")
    expect(page.get_by_test_id("attribution-rule")).to_contain_text("First-touch attribution")

    page.click("[data-testid=figure-leads]")
    expect(page.locator("#lead-results")).to_contain_text("李雷")
    expect(page.locator("#lead-results")).to_contain_text("张三")

    phone = e2e_new_page(viewport="phone", locale="zh-CN")
    _login(phone, e2e_base_url, manager.email)
    phone.goto(f"/campaigns/{MarketingCampaign.objects.get().pk}/")
    expect(phone.get_by_test_id("figure-roi")).to_be_visible()
    expect(phone.get_by_test_id("figure-roi")).to_contain_text("150.0%")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
