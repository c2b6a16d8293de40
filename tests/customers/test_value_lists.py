"""Region, industry and source from the company's value lists: the built-in province list of a new company, the
pickers of the customer and lead forms, the service's refusal of a value outside a closed list, the list filters,
imports mapping spellings to the list (or refusing unknown cells with a reason), Settings → Value lists and
mapping free text already on records (one UPDATE per table, audited)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.errors import DomainError
from crm.imports.models import ImportJob
from crm.models import AuditEvent
from customers.imports.customer import CustomerKind
from customers.models import ChoiceEntry, ChoiceList, Customer
from customers.services.choice_list import choice_entry_save, choice_list_save, choice_value_map
from customers.services.customer import customer_create, customer_update
from customers.services.tenant import tenant_defaults
from sales.imports.lead import LeadKind
from sales.models import Lead
from sales.services.lead import lead_create, lead_update

LISTS = reverse("value_lists")


@pytest.fixture
def world(world_a):
    tenant_defaults(tenant=world_a.tenant)
    for user in (world_a.admin, world_a.rep1):
        user.language = "en"
        user.save(update_fields=["language"])
    return world_a


@pytest.mark.django_db
def test_a_new_company_gets_the_34_provincial_regions_once(world):
    regions = ChoiceEntry.objects.filter(tenant=world.tenant, kind="region")
    assert regions.count() == 34
    guangdong = regions.get(value="广东省")
    assert guangdong.name_en == "Guangdong" and "广东" in guangdong.aliases
    assert {"北京市", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区", "台湾省"} <= set(
        regions.values_list("value", flat=True)
    )
    assert not ChoiceList.objects.get(tenant=world.tenant, kind="region").allow_other
    assert ChoiceList.objects.get(tenant=world.tenant, kind="industry").allow_other
    tenant_defaults(tenant=world.tenant)
    assert regions.count() == 34


@pytest.mark.django_db
def test_the_service_takes_a_spelling_of_the_list_and_refuses_others(world):
    customer = customer_create(
        acting_user=world.rep1, data={"name": "广州云帆", "region": "guangdong", "industry": "软件"}
    )
    assert (customer.region, customer.industry) == ("广东省", "软件")  # industry accepts other values
    with pytest.raises(DomainError) as refused:
        customer_create(acting_user=world.rep1, data={"name": "火星贸易", "region": "火星"})
    assert refused.value.field == "region" and "火星" in refused.value.message
    assert not Customer.objects.filter(tenant=world.tenant, name="火星贸易").exists()


@pytest.mark.django_db
def test_an_old_value_outside_the_list_stays_until_changed(world, client_for):
    customer = customer_create(acting_user=world.rep1, data={"name": "老数据公司"})
    Customer.objects.filter(pk=customer.pk).update(region="杭州西湖区")
    customer.refresh_from_db()
    customer_update(acting_user=world.rep1, customer=customer, data={"region": "杭州西湖区", "notes": "改了备注"})
    c = client_for(world.rep1)
    page = c.get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert '<select name="region"' in page and "杭州西湖区 (not in the list)" in page
    assert "广东省 · Guangdong" in page
    r = c.post(
        reverse("customers:edit", args=[customer.pk]),
        {"kind": "company", "name": "老数据公司", "status": "potential", "region": "天堂"},
    )
    assert r.status_code == 422 and "Select a valid choice" in r.content.decode()
    customer.refresh_from_db()
    assert customer.region == "杭州西湖区"


@pytest.mark.django_db
def test_an_open_list_suggests_and_accepts_any_text(world, client_for):
    choice_list_save(acting_user=world.admin, kind="region", allow_other=True)
    page = client_for(world.rep1).get(reverse("customers:create")).content.decode()
    assert 'list="region-options"' in page and '<option value="澳门特别行政区">' in page
    customer = customer_create(acting_user=world.rep1, data={"name": "海外公司", "region": "新加坡"})
    assert customer.region == "新加坡"
    assert AuditEvent.objects.filter(tenant=world.tenant, action="choice_list.update").count() == 1


@pytest.mark.django_db
def test_leads_follow_the_lists_with_every_error_at_once(world, client_for):
    lead = lead_create(acting_user=world.rep1, data={"name": "王先生", "phone": "13812345678", "region": "浙江"})
    assert lead.region == "浙江省"
    r = client_for(world.rep1).post(reverse("sales:lead_create"), {"name": "", "region": "火星", "phone": "1"})
    errors = r.context["form"].errors
    assert r.status_code == 422 and {"name", "region"} <= set(errors) and "Select a valid choice" in errors["region"][0]
    Lead.objects.filter(pk=lead.pk).update(region="宁波市")
    lead.refresh_from_db()
    lead_update(acting_user=world.rep1, lead=lead, data={"name": "王先生", "phone": "13812345678", "region": "宁波市"})
    with pytest.raises(DomainError):
        lead_update(
            acting_user=world.rep1, lead=lead, data={"name": "王先生", "phone": "13812345678", "region": "火星"}
        )


@pytest.mark.django_db
def test_imports_map_spellings_and_refuse_unknown_cells_with_a_reason(world):
    job = ImportJob(tenant=world.tenant, kind="customer", mapping={"name": 0, "region": 1, "source": 2})
    kind = CustomerKind(job=job, user=world.admin)
    row = kind.clean(2, ["甲公司", "上海", "朋友圈"])
    assert row.status == "valid" and (row.customer["region"], row.customer["source"]) == ("上海市", "朋友圈")
    assert kind.clean(3, ["乙公司", "Inner Mongolia", ""]).customer["region"] == "内蒙古自治区"
    unknown = kind.clean(4, ["丙公司", "火星", ""])
    assert unknown.status == "invalid" and "“火星” is not in the Region list" in unknown.errors["region"]
    choice_list_save(acting_user=world.admin, kind="region", allow_other=True)
    kept = CustomerKind(job=job, user=world.admin).clean(4, ["丙公司", "火星", ""])
    assert kept.status == "valid" and kept.customer["region"] == "火星"
    lead_job = ImportJob(tenant=world.tenant, kind="lead", mapping={"name": 0, "phone": 1, "region": 2})
    lead_row = LeadKind(job=lead_job, user=world.admin).clean(2, ["李", "13812345678", "深圳"])
    assert lead_row.status == "valid" and lead_row.lead["region"] == "广东省"


@pytest.mark.django_db
def test_the_customer_list_filters_by_list_value(world, client_for):
    customer_create(acting_user=world.rep1, data={"name": "北京甲", "region": "北京"})
    customer_create(acting_user=world.rep1, data={"name": "上海乙", "region": "上海"})
    c = client_for(world.rep1)
    r = c.get(reverse("customers:list"), {"region": "北京市"})
    assert [x.name for x in r.context["customers"]] == ["北京甲"]
    assert '<select name="region"' in r.content.decode()


@pytest.mark.django_db
def test_admin_manages_a_list_and_maps_existing_values(world, client_for, django_assert_max_num_queries):
    c = client_for(world.admin)
    r = c.post(
        LISTS,
        {
            "kind": "industry",
            "entry-value": "新能源",
            "entry-name_en": "New energy",
            "entry-aliases": "光伏，储能",
            "entry-active": "on",
        },
    )
    assert r.status_code == 302 and r["Location"].endswith("?kind=industry")
    entry = ChoiceEntry.objects.get(tenant=world.tenant, kind="industry", value="新能源")
    assert entry.aliases == ["光伏", "储能"]
    r = c.post(LISTS, {"kind": "industry", "entry-value": "新能源2", "entry-aliases": "光伏"})
    assert r.status_code == 422 and "“光伏” already stands for “新能源”" in r.content.decode()
    customer = customer_create(acting_user=world.rep1, data={"name": "某公司"})
    Customer.objects.filter(tenant=world.tenant).update(region="杭州市")
    lead = lead_create(acting_user=world.rep1, data={"name": "王", "phone": "13812345678"})
    Lead.objects.filter(pk=lead.pk).update(region="杭州市")
    with django_assert_max_num_queries(14):
        page = c.get(LISTS, {"kind": "region"}).content.decode()
    assert 'data-testid="unlisted-杭州市"' in page and "1 customer" in page
    zhejiang = ChoiceEntry.objects.get(tenant=world.tenant, kind="region", value="浙江省")
    r = c.post(reverse("value_map"), {"kind": "region", "from_value": "杭州市", "entry": zhejiang.pk}, follow=True)
    assert "is now “浙江省” on 1 customers and 1 leads" in r.content.decode()
    customer.refresh_from_db()
    lead.refresh_from_db()
    assert customer.region == lead.region == "浙江省"
    event = AuditEvent.objects.get(tenant=world.tenant, action="choice.map")
    assert event.details == {"kind": "region", "from": "杭州市", "to": "浙江省", "customers": 1, "leads": 1}
    assert "mapped “杭州市” to" in c.get(reverse("settings:audit")).content.decode()


@pytest.mark.django_db
def test_entry_edit_keeps_the_value_and_can_stop_offering_it(world, client_for):
    entry = ChoiceEntry.objects.get(tenant=world.tenant, kind="source", value="抖音")
    r = client_for(world.admin).post(
        reverse("value_entry_edit", args=[entry.pk]), {"name_en": "Douyin", "aliases": "TikTok", "order": "3"}
    )
    assert r.status_code == 302
    entry.refresh_from_db()
    assert (entry.value, entry.name_en, entry.aliases, entry.active) == ("抖音", "Douyin", ["TikTok"], False)
    page = client_for(world.rep1).get(reverse("customers:create")).content.decode()
    assert '<option value="抖音">' not in page
    assert AuditEvent.objects.filter(tenant=world.tenant, action="choice.update").exists()


@pytest.mark.django_db
def test_only_admins_and_only_their_company(world, world_b, client_for):
    assert client_for(world.rep1).get(LISTS).status_code == 403
    assert client_for(world.admin).get(LISTS, {"kind": "colour"}).status_code == 404
    entry = ChoiceEntry.objects.filter(tenant=world.tenant).first()
    assert client_for(world_b.admin).get(reverse("value_entry_edit", args=[entry.pk])).status_code == 404
    with pytest.raises(DomainError):
        choice_value_map(acting_user=world_b.admin, kind="region", from_value="x", entry=entry)
    with pytest.raises(DomainError):
        choice_entry_save(acting_user=world_b.admin, kind="region", entry=entry, name_en="x")
