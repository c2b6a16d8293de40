import pytest

from sales.models import Lead, Opportunity, StageChange

from ..sales.funnel import make_lead, make_opportunity, stages

LEADS = "/api/v1/leads/"
OPPORTUNITIES = "/api/v1/opportunities/"


@pytest.mark.django_db
def test_leads_follow_visibility_and_all_statuses(world_a, world_b, api_client):
    mine = make_lead(world_a.rep1, "张伟")
    theirs = make_lead(world_a.rep2, "李娜")
    make_lead(world_b.rep1, "王芳")
    Lead.objects.filter(pk=mine.pk).update(status="disqualified", disqualified_reason="无预算")
    rep1, _token = api_client(world_a.rep1, scope="read")
    assert [row["id"] for row in rep1.get(LEADS).json()["results"]] == [mine.pk]  # closed leads too
    assert rep1.get(LEADS, {"status": "open"}).json()["results"] == []
    assert rep1.get(f"{LEADS}{theirs.pk}/").status_code == 404
    agent, _token = api_client(world_a.agent, scope="read")
    assert agent.get(LEADS).json()["results"] == []


@pytest.mark.django_db
def test_lead_create_and_patch_through_services(world_a, api_client):
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(LEADS, {"name": "赵磊", "phone": "13800138123"}, content_type="application/json")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.owner == world_a.rep1 and lead.origin == "manual" and lead.phone == "+8613800138123"
    refused = rep1.post(LEADS, {"name": "无法联系"}, content_type="application/json")
    assert refused.status_code == 422
    assert "phone" in refused.json()["error"]["fields"]
    response = rep1.patch(f"{LEADS}{lead.pk}/", {"company": "云帆科技"}, content_type="application/json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.company == "云帆科技" and lead.name == "赵磊" and lead.phone == "+8613800138123"


@pytest.mark.django_db
def test_opportunity_move(world_a, world_b, api_client):
    opportunity = make_opportunity(world_a.rep1)
    _pipeline, ordered = stages(world_a.tenant)
    next_stage = [s for s in ordered if s.pk != opportunity.stage_id and s.kind == "open"][0]
    lost = [s for s in ordered if s.kind == "lost"][0]
    rep1, _token = api_client(world_a.rep1)
    url = f"{OPPORTUNITIES}{opportunity.pk}/move/"
    response = rep1.post(url, {"stage": next_stage.pk}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == next_stage.pk
    assert StageChange.objects.filter(opportunity=opportunity, to_stage=next_stage).exists()
    refused = rep1.post(url, {"stage": lost.pk}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "refused"
    _other_pipeline, other_stages = stages(world_b.tenant)
    foreign = rep1.post(url, {"stage": other_stages[0].pk}, content_type="application/json")
    assert foreign.status_code == 400 and "stage" in foreign.json()["error"]["fields"]
    rep2, _token = api_client(world_a.rep2)
    assert rep2.post(url, {"stage": lost.pk, "lost_reason": "x"}, content_type="application/json").status_code == 404
    reader, _token = api_client(world_a.rep1, scope="read")
    assert reader.post(url, {"stage": lost.pk, "lost_reason": "x"}, content_type="application/json").status_code == 403
    opportunity.refresh_from_db()
    assert opportunity.stage == next_stage and opportunity.status == Opportunity._meta.get_field("status").default


@pytest.mark.django_db
def test_list_queries_are_bounded(world_a, api_client, django_assert_max_num_queries):
    for i in range(6):
        make_opportunity(world_a.rep1, name=f"合同{i}")
        make_lead(world_a.rep1, f"线索{i}")
    admin, _token = api_client(world_a.admin, scope="read")
    for url in (LEADS, OPPORTUNITIES, "/api/v1/follow-ups/", "/api/v1/tasks/", "/api/v1/orders/", "/api/v1/tickets/"):
        with django_assert_max_num_queries(12):
            response = admin.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_lead_product_line_and_tags_within_the_company(world_a, world_b, api_client):
    from customers.models import Tag

    from ..sales.quotes import make_product

    erp = make_product(world_a, code="ERP")
    foreign = make_product(world_b, code="ERP-B")
    fair = Tag.objects.create(tenant=world_a.tenant, name="展会")
    Tag.objects.create(tenant=world_b.tenant, name="外部")
    rep1, _token = api_client(world_a.rep1)
    body = {"name": "赵磊", "phone": "13800138123", "product": foreign.pk}
    refused = rep1.post(LEADS, body, content_type="application/json")
    assert refused.status_code == 400 and "product" in refused.json()["error"]["fields"]
    refused = rep1.post(LEADS, {**body, "product": erp.pk, "tags": ["外部"]}, content_type="application/json")
    assert refused.status_code == 400 and "tags" in refused.json()["error"]["fields"]
    assert not Lead.objects.filter(tenant=world_a.tenant).exists()
    response = rep1.post(LEADS, {**body, "product": erp.pk, "tags": ["展会"]}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["product"] == erp.pk and response.json()["tags"] == ["展会"]
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.product == erp and list(lead.tags.all()) == [fair]
    # A PATCH that names neither keeps both; one that names them changes them.
    rep1.patch(f"{LEADS}{lead.pk}/", {"company": "云帆科技"}, content_type="application/json")
    assert rep1.get(f"{LEADS}{lead.pk}/").json()["tags"] == ["展会"]
    response = rep1.patch(f"{LEADS}{lead.pk}/", {"product": None, "tags": []}, content_type="application/json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.product is None and not lead.tags.exists()
