"""Lead pool rules per product line: a lead's product line rule comes before its source's rule, which comes before
the pool's number; the job, the warnings, the simulation and the date on the lead list agree on them; the settings
page and the lead form pick products of the company's catalogue only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.workcalendar.selectors import local_today
from customers.models import Tag
from sales.models import Lead, LeadOwnershipEvent, LeadPool, LeadPoolRule
from sales.selectors.lead_pool import (
    lead_fallback_day,
    lead_fallback_due,
    lead_pool_simulate,
    with_lead_fallback_at,
)
from sales.services.lead import lead_update
from sales.services.lead_fallback import lead_fallback_run, lead_warning_candidates
from sales.services.lead_pool import lead_pool_save

from .lead_pools import held_lead, lead_pool
from .quotes import make_product


def _rule(world, pool, **fields):
    return LeadPoolRule.objects.create(tenant=world.tenant, pool=pool, **fields)


@pytest.mark.django_db
def test_a_product_line_rule_comes_before_the_source_rule_and_the_default(world):
    erp = make_product(world, code="ERP")
    crm = make_product(world, code="CRM")
    pool = lead_pool(world, no_followup_days=10)
    _rule(world, pool, source="展会", no_followup_days=30)
    _rule(world, pool, product=erp, no_followup_days=60)
    _rule(world, pool, product=crm, no_conversion_days=20)

    def held(name, **kwargs):
        return held_lead(world, world.rep1, pool, name, **kwargs)

    erp_fair = held("ERP 展会 40 天", owned_days_ago=90, followed_days_ago=40, source="展会", product=erp)
    erp_old = held("ERP 70 天", owned_days_ago=90, followed_days_ago=70, product=erp)
    fair = held("展会 40 天", owned_days_ago=90, followed_days_ago=40, source="展会")
    plain = held("普通 12 天", owned_days_ago=15, followed_days_ago=12)
    # CRM's rule sets only the conversion clock: its follow-up clock keeps the pool's number.
    crm_fresh = held("CRM 5 天", owned_days_ago=15, followed_days_ago=5, product=crm)
    crm_unconverted = held("CRM 25 天未转化", owned_days_ago=25, followed_days_ago=1, product=crm)
    crm_stale = held("CRM 12 天没跟进", owned_days_ago=15, followed_days_ago=12, product=crm)
    due = set(lead_fallback_due(pool))
    assert due == {erp_old, fair, plain, crm_unconverted, crm_stale}
    assert erp_fair not in due and crm_fresh not in due


@pytest.mark.django_db
def test_job_warnings_simulation_and_dates_agree_with_product_and_tag_rules(world, django_capture_on_commit_callbacks):
    erp = make_product(world, code="ERP")
    fair = Tag.objects.create(tenant=world.tenant, name="展会")
    hot = Tag.objects.create(tenant=world.tenant, name="高意向")
    pool = lead_pool(world, no_followup_days=10, warn_days_before=4)
    _rule(world, pool, source="展会", no_followup_days=20)
    _rule(world, pool, product=erp, no_followup_days=30, no_conversion_days=50)
    _rule(world, pool, tag=fair, no_followup_days=3)
    _rule(world, pool, tag=hot, no_followup_days=6, no_conversion_days=45)
    samples = [
        (40, 12, "", None, []),
        (40, 9, "", erp, []),
        (40, 29, "", erp, []),
        (40, 27, "展会", erp, []),
        (40, 31, "展会", erp, [fair]),
        (49, 1, "", erp, [hot]),
        (52, 1, "", erp, []),
        (40, 19, "展会", None, []),
        (40, 3, "", None, []),
        (40, 2, "", None, [fair]),
        (40, 4, "展会", None, [fair, hot]),
        (40, 5, "", None, [hot]),
        (44, 1, "", None, [hot]),
        (40, 7, "", None, [hot]),
        (40, 20, "", erp, [fair]),
    ]
    for i, (owned, followed, source, product, tags) in enumerate(samples):
        lead = held_lead(
            world,
            world.rep1,
            pool,
            f"样本{i}",
            owned_days_ago=owned,
            followed_days_ago=followed,
            source=source,
            product=product,
        )
        lead.tags.set(tags, through_defaults={"tenant": world.tenant})
    now = timezone.now()
    sim = lead_pool_simulate(pool, now=now)
    warned = {(pk, step) for pk, _o, _s, _n, step, _d in lead_warning_candidates(world.tenant, now)}
    assert sim.new_warnings == warned and sim.warned_count == len(warned) > 0
    today = local_today(world.tenant, now)
    annotated = {lead.pk: lead for lead in with_lead_fallback_at(Lead.objects.filter(pool=pool), world.tenant)}
    for days_ahead in range(0, 6):
        due = set(lead_fallback_due(pool, now=now, days_ahead=days_ahead).values_list("pk", flat=True))
        by_date = {
            pk
            for pk, lead in annotated.items()
            if lead_fallback_day(lead) and lead_fallback_day(lead) <= today + dt.timedelta(days=days_ahead)
        }
        assert due == by_date, days_ahead
    with django_capture_on_commit_callbacks(execute=False):
        moved = lead_fallback_run(tenant=world.tenant, now=now)
    assert moved == sim.due_count > 0
    assert set(LeadOwnershipEvent.objects.filter(reason="fallback").values_list("lead_id", flat=True)) == sim.due_ids


@pytest.mark.django_db
def test_the_simulation_of_unsaved_product_rules_writes_nothing(world):
    erp = make_product(world, code="ERP")
    pool = lead_pool(world, no_followup_days=30)
    lead = held_lead(world, world.rep1, pool, "ERP 二十天", owned_days_ago=40, followed_days_ago=20, product=erp)
    assert lead_pool_simulate(pool).due_count == 0
    sim = lead_pool_simulate(pool, overrides={"product_rules": {erp.pk: (15, None)}})
    assert sim.due_ids == {lead.pk}
    assert not LeadPoolRule.objects.exists()


@pytest.mark.django_db
def test_admins_set_rules_per_product_line_on_the_settings_page(world, world_b, client_for):
    erp = make_product(world, code="ERP")
    foreign = make_product(world_b, code="ERP-B")
    c = client_for(world.admin)
    data = {
        "name": "产品线索池",
        "no_followup_days": "10",
        "warn_days_before": "3",
        "extension_days": "7",
        "reclaim_cooldown_days": "0",
        "teams": [world.sales.pk],
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-0-source": "展会",
        "rules-0-no_followup_days": "30",
        "prules-TOTAL_FORMS": "2",
        "prules-INITIAL_FORMS": "0",
        "trules-TOTAL_FORMS": "0",
        "trules-INITIAL_FORMS": "0",
        "prules-0-product": str(foreign.pk),
        "prules-0-no_followup_days": "60",
        "prules-1-product": "",
    }
    refused = c.post(reverse("sales:lead_pool_settings_create"), data)
    assert refused.status_code == 422
    assert "Choose a product of your company" in refused.content.decode()
    assert not LeadPoolRule.objects.exists() and not LeadPool.objects.filter(tenant=world.tenant).exists()
    created = c.post(reverse("sales:lead_pool_settings_create"), {**data, "prules-0-product": str(erp.pk)})
    assert created.status_code == 302, created.content.decode()[:2000]
    pool = LeadPool.objects.filter(tenant=world.tenant).get(name="产品线索池")
    rules = set(LeadPoolRule.objects.filter(pool=pool).values_list("source", "product_id", "no_followup_days"))
    assert rules == {("展会", None, 30), ("", erp.pk, 60)}
    page = c.get(reverse("sales:lead_pool_settings_edit", args=[pool.pk]))
    assert page.status_code == 200 and 'data-testid="product-rules"' in page.content.decode()
    # The same product twice is refused on the form, nothing changes.
    data.update({"rules-INITIAL_FORMS": "1", "prules-INITIAL_FORMS": "1"})
    twice = {**data, "prules-0-product": str(erp.pk), "prules-1-product": str(erp.pk), "prules-1-no_followup_days": "5"}
    again = c.post(reverse("sales:lead_pool_settings_edit", args=[pool.pk]), twice)
    assert again.status_code == 422 and "This product line has a rule already." in again.content.decode()
    assert LeadPoolRule.objects.get(pool=pool, product=erp).no_followup_days == 60
    # Saved without the product row: its rule goes, the source rule stays.
    c.post(reverse("sales:lead_pool_settings_edit", args=[pool.pk]), {**data, "prules-0-product": ""})
    assert set(LeadPoolRule.objects.filter(pool=pool).values_list("source", flat=True)) == {"展会"}


@pytest.mark.django_db
def test_the_service_refuses_another_companys_product(world, world_b):
    foreign = make_product(world_b, code="ERP-B")
    with pytest.raises(DomainError, match="catalogue"):
        lead_pool_save(
            acting_user=world.admin,
            pool=None,
            values={"name": "池", "warn_days_before": 3, "extension_days": 7, "reclaim_cooldown_days": 0},
            teams=[],
            source_rules={},
            product_rules={foreign.pk: (10, None)},
        )
    assert not LeadPool.objects.filter(tenant=world.tenant).exists()


@pytest.mark.django_db
def test_a_lead_takes_a_product_line_on_its_form(world, world_b, client_for):
    erp = make_product(world, code="ERP")
    foreign = make_product(world_b, code="ERP-B")
    c = client_for(world.rep1)
    data = {"name": "王经理", "phone": "13800138000", "product": str(foreign.pk)}
    refused = c.post(reverse("sales:lead_create"), data)
    assert refused.status_code == 422 and "Choose a product of your company" in refused.content.decode()
    assert not Lead.objects.filter(tenant=world.tenant).exists()
    created = c.post(reverse("sales:lead_create"), {**data, "product": str(erp.pk)})
    assert created.status_code == 302
    lead = Lead.objects.get(tenant=world.tenant)
    assert lead.product == erp
    page = c.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="lead-product"' in page and "ERP" in page
    lead_update(acting_user=world.rep1, lead=lead, data={"name": "王经理", "phone": "13800138000", "product": ""})
    lead.refresh_from_db()
    assert lead.product is None
    with pytest.raises(DomainError, match="catalogue"):
        lead_update(
            acting_user=world.rep1, lead=lead, data={"name": "王", "phone": "13800138000", "product": foreign.pk}
        )
