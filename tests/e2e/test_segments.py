"""Segments in a browser: a manager opens Segments from the navigation, builds a segment of the Shanghai customers,
watches its live count follow the region typed, saves it, and opens its customers in the customer list."""

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.models import Customer
from customers.services.customer import customer_create

from .navigation import open_from_menu

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Segment-e2e-pass-1"


def test_a_manager_builds_a_segment_and_opens_its_customers(e2e_new_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 细分公司", slug="e2e-seg", admin_email="admin@e2eseg.test", admin_password=PASSWORD, language="en"
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    manager = User.objects.create_user(
        email="manager@e2eseg.test", password=PASSWORD, tenant=tenant, full_name="经理甲", roles=["manager"], team=sales
    )
    sales.manager = manager
    sales.save(update_fields=["manager"])
    for i, region in enumerate(("上海市", "上海市", "北京市")):
        customer = customer_create(acting_user=manager, data={"name": f"{region}客户{i}"}, contact={"name": f"人{i}"})
        Customer.objects.filter(pk=customer.pk).update(region=region)

    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.goto("/login/")
    page.fill("input[name=username]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    open_from_menu(page, "marketing", "Segments")
    page.click("[data-testid=new-segment]")
    expect(page.get_by_test_id("segment-count")).to_contain_text("3 customers")
    page.fill("#id_name", "上海客户")
    # Regions come from the company's list (China's provinces and municipalities built in).
    page.select_option("#id_region", "上海市")
    # The live count follows the filter (htmx).
    expect(page.get_by_test_id("segment-count")).to_contain_text("2 customers")
    page.click("[data-testid=save-segment]")
    expect(page.get_by_test_id("segment-name")).to_have_text("上海客户")
    expect(page.get_by_test_id("segment-count")).to_contain_text("2 customers")
    page.click("[data-testid=segment-open]")
    expect(page).to_have_url(f"{e2e_base_url}/customers/?region=%E4%B8%8A%E6%B5%B7%E5%B8%82")
    expect(page.locator("#customer-results")).to_contain_text("上海市客户0")
    expect(page.locator("#customer-results")).not_to_contain_text("北京市客户2")
