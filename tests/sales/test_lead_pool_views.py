"""The lead pool pages: pools a rep sees, a pool's leads masked with claim buttons and claims left, the htmx claim,
release into a chosen pool back to the list, assignment, Settings → Lead pools with the simulation; 404 for
another tenant's ids; bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.normalize import mask
from sales.models import Lead, LeadPool, LeadPoolRule

from .lead_pools import held_lead, lead_pool, pooled_leads


@pytest.mark.django_db
def test_the_pool_page_masks_contact_data_and_counts_claims_left(world, client_for, django_assert_max_num_queries):
    pool = lead_pool(world, max_claims_per_day=5)
    leads = pooled_leads(world, pool, count=30)
    c = client_for(world.rep1)
    page = c.get(reverse("sales:lead_pool_list"))
    assert page.status_code == 200 and pool.name in page.content.decode()
    with django_assert_max_num_queries(14):
        response = c.get(reverse("sales:lead_pool_detail", args=[pool.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert leads[3].phone not in body and leads[3].email not in body and leads[3].wechat not in body
    assert mask("phone", leads[3].phone) in body
    assert "5 of 5 claims left today" in body
    assert reverse("sales:lead_pool_claim", args=[leads[3].pk]) in body
    # Twice the rows, the same number of queries.
    pooled_leads(world, pool, prefix="更多", count=30)
    with django_assert_max_num_queries(14):
        assert c.get(reverse("sales:lead_pool_detail", args=[pool.pk])).status_code == 200


@pytest.mark.django_db
def test_claim_by_htmx_reveals_the_lead_and_counts_down(world, client_for):
    pool = lead_pool(world, max_claims_per_day=2)
    leads = pooled_leads(world, pool, count=2)
    c = client_for(world.rep1)
    response = c.post(reverse("sales:lead_pool_claim", args=[leads[0].pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="claim-ok"' in body
    assert leads[0].phone in body and "1 of 2 claims left today" in body
    again = client_for(world.rep2).post(reverse("sales:lead_pool_claim", args=[leads[0].pk]), HTTP_HX_REQUEST="true")
    assert "Too late" in again.content.decode() and world.rep1.full_name in again.content.decode()


@pytest.mark.django_db
def test_other_tenants_ids_are_404(world, world_b, client_for):
    pool = lead_pool(world)
    (lead,) = pooled_leads(world, pool)
    held = held_lead(world, world.rep1, pool, "持有", owned_days_ago=1)
    c = client_for(world_b.admin)
    assert c.get(reverse("sales:lead_pool_detail", args=[pool.pk])).status_code == 404
    assert c.get(reverse("sales:lead_pool_assign", args=[pool.pk])).status_code == 404
    assert c.post(reverse("sales:lead_pool_claim", args=[lead.pk])).status_code == 404
    assert c.get(reverse("sales:lead_pool_settings_edit", args=[pool.pk])).status_code == 404
    assert c.post(reverse("sales:lead_pool_settings_simulate", args=[pool.pk])).status_code == 404
    for outsider in (world_b.manager, world_b.rep1):  # 404 before any role check
        for name in ("sales:lead_pool_settings_edit", "sales:lead_pool_settings_simulate"):
            assert client_for(outsider).post(reverse(name, args=[pool.pk])).status_code == 404
    assert client_for(world.rep1).get(reverse("sales:lead_pool_settings_edit", args=[pool.pk])).status_code == 403
    assert client_for(world_b.rep1).get(reverse("sales:lead_release", args=[held.pk])).status_code == 404
    # In the same tenant, a pool not naming the rep's team is 404 too.
    hidden = lead_pool(world, name="客服池", team=world.service_team)
    assert client_for(world.rep1).get(reverse("sales:lead_pool_detail", args=[hidden.pk])).status_code == 404
    assert Lead.objects.get(pk=lead.pk).owner_id is None


@pytest.mark.django_db
def test_release_preselects_the_home_pool_and_returns_to_the_list(world, client_for):
    home = lead_pool(world, name="华东线索池")
    other = lead_pool(world, name="展会线索池")
    lead = held_lead(world, world.rep1, home, "要释放的", owned_days_ago=3)
    c = client_for(world.rep1)
    url = reverse("sales:lead_release", args=[lead.pk])
    form = c.get(url)
    assert form.status_code == 200
    assert f'<option value="{home.pk}" selected>' in form.content.decode()
    refused = c.post(url, {"pool": other.pk, "reason": ""})
    assert refused.status_code == 422
    done = c.post(url, {"pool": other.pk, "reason": "预算冻结"})
    assert done.status_code == 302 and done["Location"] == reverse("sales:lead_list")
    lead.refresh_from_db()
    assert lead.owner_id is None and lead.pool == other
    assert client_for(world.rep2).get(url).status_code == 404  # not theirs to see


@pytest.mark.django_db
def test_managers_assign_from_the_pool_page(world, client_for):
    pool = lead_pool(world)
    leads = pooled_leads(world, pool, count=2)
    url = reverse("sales:lead_pool_assign", args=[pool.pk])
    assert client_for(world.rep1).get(url).status_code == 403
    c = client_for(world.manager)
    confirm = c.post(url, {"selected": [x.pk for x in leads]})
    assert confirm.status_code == 200 and leads[1].name in confirm.content.decode()
    done = c.post(url, {"ids": f"{leads[0].pk},{leads[1].pk}", "rep": world.rep2.pk})
    assert done.status_code == 302
    assert Lead.objects.filter(owner=world.rep2).count() == 2


@pytest.mark.django_db
def test_admins_edit_a_pool_with_source_rules_and_simulate(world, client_for):
    c = client_for(world.admin)
    created = c.post(
        reverse("sales:lead_pool_settings_create"),
        {
            "name": "官网线索池",
            "is_default": "on",
            "no_followup_days": "10",
            "warn_days_before": "3",
            "extension_days": "7",
            "reclaim_cooldown_days": "0",
            "teams": [world.sales.pk],
            "rules-TOTAL_FORMS": "2",
            "rules-INITIAL_FORMS": "0",
            "prules-TOTAL_FORMS": "0",
            "prules-INITIAL_FORMS": "0",
            "trules-TOTAL_FORMS": "0",
            "trules-INITIAL_FORMS": "0",
            "rules-0-source": "展会",
            "rules-0-no_followup_days": "30",
            "rules-1-source": "",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    pool = LeadPool.objects.get(tenant=world.tenant, name="官网线索池")
    assert pool.is_default and list(pool.teams.all()) == [world.sales]
    assert list(LeadPoolRule.objects.filter(pool=pool).values_list("source", "no_followup_days")) == [("展会", 30)]
    held_lead(world, world.rep1, pool, "二十天没跟进", owned_days_ago=40, followed_days_ago=20, source="官网")
    held_lead(world, world.rep1, pool, "展会二十天", owned_days_ago=40, followed_days_ago=20, source="展会")
    page = c.get(reverse("sales:lead_pool_settings_edit", args=[pool.pk]))
    assert "1 lead would fall back now" in page.content.decode()
    sim = c.post(
        reverse("sales:lead_pool_settings_simulate", args=[pool.pk]),
        {
            "name": "官网线索池",
            "no_followup_days": "10",
            "warn_days_before": "3",
            "extension_days": "7",
            "reclaim_cooldown_days": "0",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "prules-TOTAL_FORMS": "0",
            "prules-INITIAL_FORMS": "0",
            "trules-TOTAL_FORMS": "0",
            "trules-INITIAL_FORMS": "0",
            "rules-0-source": "展会",
            "rules-0-no_followup_days": "15",
        },
    )
    assert "2 leads would fall back now" in sim.content.decode()
    assert client_for(world.rep1).get(reverse("sales:lead_pool_settings")).status_code == 403


@pytest.mark.django_db
def test_the_lead_list_shows_when_owned_leads_fall_back(world, client_for):
    pool = lead_pool(world, no_followup_days=30)
    lead = held_lead(world, world.rep1, pool, "即将回收", owned_days_ago=40, followed_days_ago=28)
    body = client_for(world.rep1).get(reverse("sales:lead_list")).content.decode()
    assert f'data-testid="lead-fallback-{lead.pk}"' in body


@pytest.mark.django_db
def test_a_manager_imports_leads_into_a_lead_pool(world, client_for, settings, tmp_path):
    import csv
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm.imports.models import ImportJob

    settings.MEDIA_ROOT = tmp_path / "media"
    pool = lead_pool(world, name="展会线索池")
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["姓名", "手机"], ["林二", "13810000002"]])
    m = client_for(world.manager)
    assert f"pool:{pool.pk}" in m.get(reverse("sales:lead_import")).content.decode()
    assert f"pool:{pool.pk}" not in client_for(world.rep1).get(reverse("sales:lead_import")).content.decode()
    m.post(
        reverse("sales:lead_import"),
        {"file": SimpleUploadedFile("池.csv", buffer.getvalue().encode("utf-8-sig")), "target": f"pool:{pool.pk}"},
    )
    job = ImportJob.objects.get(original_name="池.csv")
    assert job.options == {"owner": None, "pool": pool.pk}
    m.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "phone": "1"})
    m.post(reverse("imports:commit", args=[job.pk]))
    lead = Lead.objects.get(import_job=job)
    assert lead.owner is None and lead.pool == pool
    assert lead in Lead.objects.in_pools_for(world.rep1)


@pytest.mark.django_db
def test_the_lead_page_shows_the_fall_back_day_and_asks_for_an_extension(world, world_b, client_for):
    from sales.models import LeadExtensionRequest

    pool = lead_pool(world, no_followup_days=30)
    lead = held_lead(world, world.rep1, pool, "快回收了", owned_days_ago=40, followed_days_ago=28)
    c = client_for(world.rep1)
    body = c.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="lead-fallback-day"' in body and 'data-testid="lead-extension-form"' in body
    url = reverse("sales:lead_extension_request", args=[lead.pk])
    assert client_for(world_b.rep1).post(url, {"reason": "x"}).status_code == 404
    response = c.post(url, {"reason": "客户下周签约"})
    assert response.status_code == 302
    assert LeadExtensionRequest.objects.get(lead=lead).reason == "客户下周签约"
    body = c.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="lead-extension-form"' not in body  # once per ownership period
