"""Lead pools in a browser: a rep claims a masked lead in one click, sees its phone, then releases it into another
pool of their choice and lands on the lead list."""

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from sales.models import Lead, LeadPool, LeadPoolTeam

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "LeadPool-e2e-pass-1"


def test_claim_a_lead_from_a_pool_then_release_it(e2e_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 线索公司", slug="e2e-leadpool", admin_email="admin@e2elp.test", admin_password=PASSWORD, language="en"
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    rep = User.objects.create_user(
        email="rep@e2elp.test", password=PASSWORD, tenant=tenant, full_name="销售甲", roles=["rep"], team=sales
    )
    pool = LeadPool.objects.create(tenant=tenant, name="公共线索池", max_claims_per_day=3)
    fair = LeadPool.objects.create(tenant=tenant, name="展会线索池")
    for p in (pool, fair):
        LeadPoolTeam.objects.create(tenant=tenant, pool=p, team=sales)
    lead = Lead.objects.create(tenant=tenant, name="李雷", company="杭州云启", phone="+8613800138000", pool=pool)

    page = e2e_page
    page.goto("/login/")
    page.fill("input[name=username]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")
    page.goto("/lead-pools/")
    page.click(f"[data-testid=lead-pool-{pool.pk}]")
    row = page.locator(f"#lead-pool-row-{lead.pk}")
    expect(row).to_contain_text("李雷")
    expect(page.locator(f"[data-testid=masked-{lead.pk}]")).to_contain_text("138****8000")
    expect(row).not_to_contain_text("13800138000")
    expect(page.locator(f"[data-testid=claims-left-{pool.pk}]")).to_contain_text("3 of 3")
    page.click(f"[data-testid=lead-claim-{lead.pk}]")
    expect(page.locator("[data-testid=claim-ok]")).to_be_visible()
    expect(page.locator("[data-testid=claim-tel]")).to_contain_text("8613800138000")
    expect(page.locator(f"[data-testid=claims-left-{pool.pk}]")).to_contain_text("2 of 3")
    assert Lead.objects.get(pk=lead.pk).owner == rep

    page.goto(f"/leads/{lead.pk}/")
    page.click("[data-testid=release-lead]")
    expect(page.locator("select[name=pool]")).to_have_value(str(pool.pk))
    page.select_option("select[name=pool]", str(fair.pk))
    page.fill("textarea[name=reason]", "客户要求展会后再联系")
    page.click("[data-testid=release-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/leads/")
    released = Lead.objects.get(pk=lead.pk)
    assert released.owner_id is None and released.pool == fair
