"""Marketing campaigns: create and edit (managers and admins only), attribution figures (first touch, every figure a
link to its records), costs hidden from reps, the lead and opportunity lists filtered by campaign, isolation."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from marketing.models import MarketingCampaign
from marketing.selectors.marketing_campaign import campaign_figures
from sales.models import Lead, Opportunity

from .campaigns import campaign_lead, make_campaign, won_deal

CAMPAIGN_POST = {
    "name": "春季线上投放",
    "kind": "ads",
    "status": "active",
    "code": "Spring-Ads",
    "starts_on": "2026-03-01",
    "ends_on": "2026-03-31",
    "currency": "CNY",
    "budget": "20000",
    "actual_cost": "18000.50",
    "expected_leads": "200",
    "expected_revenue": "300000",
    "description": "百度与微信朋友圈广告",
}


@pytest.mark.django_db
def test_a_manager_creates_a_campaign_with_its_code_as_typed(world_a, client_for):
    client = client_for(world_a.manager)
    response = client.post(reverse("campaigns:create"), {**CAMPAIGN_POST, "owner": world_a.manager.pk})
    campaign = MarketingCampaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("campaigns:detail", args=[campaign.pk])
    assert (campaign.tenant, campaign.code, campaign.actual_cost) == (world_a.tenant, "Spring-Ads", Decimal("18000.50"))
    assert AuditEvent.objects.filter(action="marketing_campaign.create", object_id=str(campaign.pk)).exists()


@pytest.mark.django_db
def test_a_taken_code_or_an_end_before_the_start_is_refused_and_nothing_is_saved(world_a, client_for):
    make_campaign(world_a, code="Spring-Ads")
    client = client_for(world_a.admin)
    response = client.post(reverse("campaigns:create"), {**CAMPAIGN_POST, "name": "另一个"})
    assert response.status_code == 422
    assert response.context["form"].errors["code"] == ["其他活动已使用此归因代码。"]
    response = client.post(reverse("campaigns:create"), {**CAMPAIGN_POST, "code": "x", "ends_on": "2026-02-01"})
    assert response.status_code == 422
    response = client.post(reverse("campaigns:create"), {**CAMPAIGN_POST, "code": "春季 展会"})
    assert response.status_code == 422 and "code" in response.context["form"].errors
    assert MarketingCampaign.objects.count() == 1


@pytest.mark.django_db
def test_reps_see_campaigns_and_leads_but_neither_costs_nor_the_forms(world_a, client_for):
    campaign = make_campaign(world_a, actual_cost=Decimal("12345"), budget=Decimal("67890"))
    campaign_lead(world_a.rep1, "王芳", campaign.code)
    client = client_for(world_a.rep1)
    listing = client.get(reverse("campaigns:list")).content.decode()
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert campaign.name in listing and 'data-testid="figure-leads"' in page
    for text in ("12,345", "67,890", "figure-roi", "figure-cost", "figure-cpl"):
        assert text not in listing and text not in page
    assert client.get(reverse("campaigns:create")).status_code == 403
    assert client.post(reverse("campaigns:edit", args=[campaign.pk]), CAMPAIGN_POST).status_code == 403
    assert client_for(world_a.agent).get(reverse("campaigns:list")).status_code == 403
    manager_page = client_for(world_a.manager).get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "12,345" in manager_page and 'data-testid="figure-roi"' in manager_page
    # The page's title is the campaign's name; the blasts are listed once, in the page.
    assert f"<title>{campaign.name} · " in manager_page and manager_page.count('data-testid="blast-table"') == 1


@pytest.mark.django_db
def test_figures_follow_first_touch_and_compute_cost_per_lead_and_roi(world_a):
    campaign = make_campaign(world_a, actual_cost=Decimal("40000"))
    other = make_campaign(world_a, code="other", name="别的活动")
    admin = world_a.admin
    won_deal(admin, campaign_lead(admin, "李雷", campaign.code), "100000")
    won_deal(admin, campaign_lead(admin, "韩梅梅", campaign.code), "30000", won=False)
    campaign_lead(admin, "张三", campaign.code)
    campaign_lead(admin, "李四", campaign.code)
    # Another campaign's customer: its deal stays with that campaign even if a later lead carries our code.
    first = won_deal(admin, campaign_lead(admin, "赵六", other.code), "55000")
    later = campaign_lead(admin, "赵六二次", campaign.code)
    Lead.objects.filter(pk=later.pk).update(customer=first.customer)

    figures = campaign_figures(admin, campaign)
    assert (figures.leads, figures.converted, figures.opportunities, figures.won) == (5, 2, 2, 1)
    assert figures.won_amount == Decimal("100000")
    assert figures.cost_per_lead == Decimal("8000.00")
    assert figures.cost_per_won == Decimal("40000.00")
    assert figures.roi_percent == Decimal("150.0")
    other_figures = campaign_figures(admin, other)
    assert (other_figures.opportunities, other_figures.won_amount) == (1, Decimal("55000"))


@pytest.mark.django_db
def test_every_figure_links_to_the_records_it_counts(world_a, client_for):
    campaign = make_campaign(world_a)
    admin = world_a.admin
    won_deal(admin, campaign_lead(admin, "李雷", campaign.code), "100000")
    campaign_lead(admin, "张三", campaign.code)
    campaign_lead(admin, "路人", "")
    client = client_for(admin)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    links = page.context["links"]
    leads = client.get(links["leads"]).context["page"]
    assert sorted(lead.name for lead in leads) == ["张三", "李雷"]
    converted = client.get(links["converted"]).context["page"]
    assert [lead.name for lead in converted] == ["李雷"]
    won = client.get(links["won"])
    won_ids = [o.pk for o in won.context["page"]]
    assert won_ids == list(
        Opportunity.objects.from_campaign(campaign.code).filter(status="won").values_list("pk", flat=True)
    )
    assert len(won_ids) == 1
    assert "utm_campaign=expo-2026" in page.context["form_link"]


@pytest.mark.django_db
def test_a_managers_figures_count_only_what_they_may_see(world_a, world_b):
    campaign = make_campaign(world_a)
    campaign_lead(world_a.rep1, "甲", campaign.code)
    campaign_lead(world_a.rep2, "乙", campaign.code)
    assert campaign_figures(world_a.rep1, campaign).leads == 1
    assert campaign_figures(world_a.admin, campaign).leads == 2
    # The other company's leads with the same code never count.
    campaign_lead(world_b.admin, "丙", campaign.code)
    assert campaign_figures(world_a.admin, campaign).leads == 2


@pytest.mark.django_db
def test_another_companys_campaign_is_not_found(world_a, world_b, client_for):
    campaign = make_campaign(world_b)
    client = client_for(world_a.admin)
    for name in ("campaigns:detail", "campaigns:edit"):
        assert client.get(reverse(name, args=[campaign.pk])).status_code == 404
    assert campaign.name not in client.get(reverse("campaigns:list")).content.decode()


@pytest.mark.django_db
def test_the_list_has_bounded_queries_whatever_the_number_of_campaigns(
    world_a, client_for, django_assert_max_num_queries
):
    admin = world_a.admin
    for i in range(30):
        campaign = make_campaign(world_a, code=f"c-{i}", name=f"活动{i}")
        campaign_lead(admin, f"线索{i}", campaign.code)
    client = client_for(admin)
    client.get(reverse("campaigns:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("campaigns:list"))
    assert len(response.context["page"].object_list) == 30
    assert all(c.n_leads == 1 for c in response.context["page"])
