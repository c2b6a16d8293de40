"""Lead tags (the company's tag list, shared with customers): picked on the lead form, filtered on the lead list,
taken by the import and the API; lead pool rules per tag, after the product line's rule and before the source's,
the fewest days winning among several tags; the settings page keeps tags within the company."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.errors import DomainError
from crm.imports.models import ImportJob
from customers.models import Tag
from sales.models import Lead, LeadPool, LeadPoolRule, LeadTag
from sales.selectors.lead_pool import lead_fallback_due, lead_pool_simulate
from sales.services.lead import lead_update
from sales.services.lead_pool import lead_pool_save

from .lead_pools import held_lead, lead_pool
from .quotes import make_product
from .test_lead_import import csv_bytes


def _tag(world, name):
    return Tag.objects.create(tenant=world.tenant, name=name)


def _rule(world, pool, **fields):
    return LeadPoolRule.objects.create(tenant=world.tenant, pool=pool, **fields)


def _held(world, pool, name, tags=(), **kwargs):
    lead = held_lead(world, world.rep1, pool, name, **kwargs)
    lead.tags.set(tags, through_defaults={"tenant": world.tenant})
    return lead


@pytest.mark.django_db
def test_tag_rules_come_after_the_product_line_and_before_the_source(world):
    erp = make_product(world, code="ERP")
    fair = _tag(world, "展会")
    slow = _tag(world, "长周期")
    pool = lead_pool(world, no_followup_days=10)
    _rule(world, pool, source="官网", no_followup_days=2)
    _rule(world, pool, product=erp, no_followup_days=60)
    _rule(world, pool, tag=fair, no_followup_days=3)
    _rule(world, pool, tag=slow, no_followup_days=30)
    fair_4 = _held(world, pool, "展会 4 天", [fair], owned_days_ago=40, followed_days_ago=4)
    fair_2 = _held(world, pool, "展会 2 天", [fair], owned_days_ago=40, followed_days_ago=2)
    # The product line's rule comes first: 60 days, whatever the tag says.
    erp_fair = _held(world, pool, "ERP 展会 20 天", [fair], owned_days_ago=40, followed_days_ago=20, product=erp)
    # The tag's rule comes before the source's: 30 days, not 官网's 2.
    slow_web = _held(world, pool, "长周期 官网 5 天", [slow], owned_days_ago=40, followed_days_ago=5, source="官网")
    web = _held(world, pool, "官网 5 天", owned_days_ago=40, followed_days_ago=5, source="官网")
    # Of several tags, the fewest days: 展会's 3, not 长周期's 30.
    both = _held(world, pool, "两个标签 5 天", [fair, slow], owned_days_ago=40, followed_days_ago=5)
    slow_12 = _held(world, pool, "长周期 12 天", [slow], owned_days_ago=40, followed_days_ago=12)
    plain = _held(world, pool, "普通 12 天", owned_days_ago=40, followed_days_ago=12)
    due = set(lead_fallback_due(pool))
    assert due == {fair_4, web, both, plain}
    assert not due & {fair_2, erp_fair, slow_web, slow_12}
    # The simulation of an unsaved tag rule moves what that rule would move, and saves nothing.
    sim = lead_pool_simulate(pool, overrides={"tag_rules": {slow.pk: (11, None)}})
    assert slow_12.pk in sim.due_ids and fair_4.pk not in sim.due_ids
    assert LeadPoolRule.objects.filter(pool=pool, tag=slow).get().no_followup_days == 30


@pytest.mark.django_db
def test_admins_set_rules_per_tag_on_the_settings_page(world, world_b, client_for):
    fair = _tag(world, "展会")
    foreign = _tag(world_b, "展会")
    c = client_for(world.admin)
    data = {
        "name": "展会线索池",
        "no_followup_days": "10",
        "warn_days_before": "3",
        "extension_days": "7",
        "reclaim_cooldown_days": "0",
        "teams": [world.sales.pk],
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "prules-TOTAL_FORMS": "0",
        "prules-INITIAL_FORMS": "0",
        "trules-TOTAL_FORMS": "2",
        "trules-INITIAL_FORMS": "0",
        "trules-0-tag": str(foreign.pk),
        "trules-0-no_followup_days": "3",
        "trules-1-tag": "",
    }
    refused = c.post(reverse("sales:lead_pool_settings_create"), data)
    assert refused.status_code == 422 and "Choose one of your company" in refused.content.decode()
    assert not LeadPool.objects.filter(tenant=world.tenant).exists()
    created = c.post(reverse("sales:lead_pool_settings_create"), {**data, "trules-0-tag": str(fair.pk)})
    assert created.status_code == 302, created.content.decode()[:2000]
    pool = LeadPool.objects.get(tenant=world.tenant, name="展会线索池")
    assert set(LeadPoolRule.objects.filter(pool=pool).values_list("tag_id", "no_followup_days")) == {(fair.pk, 3)}
    page = c.get(reverse("sales:lead_pool_settings_edit", args=[pool.pk])).content.decode()
    assert 'data-testid="tag-rules"' in page and 'data-testid="rule-precedence"' in page
    twice = {**data, "trules-INITIAL_FORMS": "1", "trules-0-tag": str(fair.pk), "trules-1-tag": str(fair.pk)}
    twice["trules-1-no_followup_days"] = "9"
    again = c.post(reverse("sales:lead_pool_settings_edit", args=[pool.pk]), twice)
    assert again.status_code == 422 and "This tag has a rule already." in again.content.decode()
    assert LeadPoolRule.objects.get(pool=pool, tag=fair).no_followup_days == 3
    # Saved without the tag row: its rule goes.
    c.post(reverse("sales:lead_pool_settings_edit", args=[pool.pk]), {**data, "trules-0-tag": ""})
    assert not LeadPoolRule.objects.filter(pool=pool).exists()
    with pytest.raises(DomainError, match="tags"):
        lead_pool_save(
            acting_user=world.admin,
            pool=pool,
            values={"name": "展会线索池", "warn_days_before": 3, "extension_days": 7, "reclaim_cooldown_days": 0},
            teams=[],
            source_rules={},
            tag_rules={foreign.pk: (3, None)},
        )


@pytest.mark.django_db
def test_a_lead_takes_tags_on_its_form_and_the_list_filters_by_them(world, world_b, client_for):
    fair = _tag(world, "展会")
    hot = _tag(world, "高意向")
    foreign = _tag(world_b, "外部")
    c = client_for(world.rep1)
    data = {"name": "王经理", "phone": "13800138000", "tags": [str(foreign.pk)]}
    refused = c.post(reverse("sales:lead_create"), data)
    assert refused.status_code == 422 and not Lead.objects.filter(tenant=world.tenant).exists()
    assert c.post(reverse("sales:lead_create"), {**data, "tags": [str(fair.pk), str(hot.pk)]}).status_code == 302
    tagged = Lead.objects.get(tenant=world.tenant)
    assert set(tagged.tags.all()) == {fair, hot}
    assert LeadTag.objects.filter(lead=tagged, tenant=world.tenant).count() == 2
    c.post(reverse("sales:lead_create"), {"name": "李总", "phone": "13800138001"})
    page = c.get(reverse("sales:lead_detail", args=[tagged.pk])).content.decode()
    assert 'data-testid="lead-tags"' in page and "#展会" in page
    listed = c.get(reverse("sales:lead_list"), {"tag": fair.pk})
    assert [lead.pk for lead in listed.context["page"]] == [tagged.pk]
    lead_update(acting_user=world.rep1, lead=tagged, data={"name": "王经理", "phone": "13800138000", "tags": [hot]})
    assert list(tagged.tags.all()) == [hot]
    with pytest.raises(DomainError, match="tags"):
        lead_update(
            acting_user=world.rep1, lead=tagged, data={"name": "王经理", "phone": "13800138000", "tags": [foreign.pk]}
        )
    assert list(tagged.tags.all()) == [hot]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_the_import_takes_product_line_and_tag_columns(world, world_b, client_for, media):
    erp = make_product(world, code="ERP", name="云ERP")
    make_product(world_b, code="CRM", name="外部CRM")
    fair = _tag(world, "展会")
    hot = _tag(world, "高意向")
    _tag(world_b, "外部")
    headers = ["姓名", "手机", "产品线", "标签"]
    rows = [
        ["陈一", "13810000001", "云ERP", "展会、高意向"],  # 2: by name, two tags
        ["林二", "13810000002", "erp", ""],  # 3: by code, any case
        ["黄三", "13810000003", "外部CRM", ""],  # 4: another company's product
        ["吴四", "13810000004", "", "展会，外部"],  # 5: another company's tag
    ]
    c = client_for(world.rep1)
    c.post(reverse("sales:lead_import"), {"file": SimpleUploadedFile("线索.csv", csv_bytes(rows, headers))})
    job = ImportJob.objects.get(kind="lead")
    assert job.mapping == {"name": 0, "phone": 1, "product": 2, "tags": 3}
    c.post(reverse("imports:mapping", args=[job.pk]), {k: str(v) for k, v in job.mapping.items()})
    job.refresh_from_db()
    assert job.summary["invalid_by_field"] == {"product": 1, "tags": 1}
    preview = c.get(reverse("imports:preview", args=[job.pk])).content.decode()
    assert "is no product of your company" in preview and "Unknown tags: 外部" in preview
    c.post(reverse("imports:commit", args=[job.pk]))
    imported = {lead.name: lead for lead in Lead.objects.filter(import_job=job)}
    assert set(imported) == {"陈一", "林二"}
    assert imported["陈一"].product == erp and set(imported["陈一"].tags.all()) == {fair, hot}
    assert imported["林二"].product == erp and not imported["林二"].tags.exists()
