"""Custom fields on contacts, leads, opportunities and tickets: the same typed definitions and checks as customers,
through the API, the forms, the records' pages and the list filters."""

import pytest
from django.urls import reverse

from crm.api.services.custom_field import custom_field_save
from customers.models import Contact
from customers.services.customer import customer_create
from sales.models import Lead, Opportunity
from sales.services.pipeline import ensure_default_pipeline
from service.models import Ticket

from ..sales.funnel import make_lead, make_opportunity

JSON = "application/json"


def define(admin, kind, key, type, **extra):
    return custom_field_save(acting_user=admin, kind=kind, key=key, label=extra.pop("label", key), type=type, **extra)


def make_customer(user, name="云帆科技有限公司"):
    return customer_create(acting_user=user, data={"name": name}, contact={"name": "张三", "mobile": "13800138000"})


@pytest.mark.django_db
def test_lead_custom_values_in_the_api_the_page_and_the_list_filter(world_a, api_client, client_for):
    define(world_a.admin, "lead", "budget", "money", label="预算")
    define(world_a.admin, "lead", "channel", "choice", label="渠道", choices=["展会", "官网"])
    rep1, _token = api_client(world_a.rep1)
    body = {"name": "赵磊", "phone": "13800138123", "custom": {"budget": "50000", "channel": "展会"}}
    response = rep1.post("/api/v1/leads/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.custom == {"budget": "50000.00", "channel": "展会"}
    bad = rep1.patch(f"/api/v1/leads/{lead.pk}/", {"custom": {"channel": "电话"}, "company": "x"}, content_type=JSON)
    assert bad.status_code == 422 and "custom_channel" in bad.json()["error"]["fields"]
    lead.refresh_from_db()
    assert lead.custom["channel"] == "展会" and lead.company == ""
    other = make_lead(world_a.rep1, "钱七", phone="13900139111")
    page = client_for(world_a.rep1).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert "预算" in page and "50000.00" in page
    listed = client_for(world_a.rep1).get(reverse("sales:lead_list"), {"cf_channel": "展会", "status": "all"})
    html = listed.content.decode()
    assert 'name="cf_channel"' in html and "赵磊" in html and "钱七" not in html
    api_listed = rep1.get("/api/v1/leads/", {"cf_channel": "展会"}).json()["results"]
    assert [row["id"] for row in api_listed] == [lead.pk] and other.pk


@pytest.mark.django_db
def test_lead_form_saves_custom_values(world_a, client_for):
    define(world_a.admin, "lead", "vip", "boolean", label="重点")
    lead = make_lead(world_a.rep1, "孙八", phone="13900139222")
    url = reverse("sales:lead_edit", args=[lead.pk])
    page = client_for(world_a.rep1).get(url).content.decode()
    assert 'name="custom_vip"' in page
    response = client_for(world_a.rep1).post(url, {"name": "孙八", "phone": "13900139222", "custom_vip": "true"})
    assert response.status_code == 302, response.content.decode()[:500]
    lead.refresh_from_db()
    assert lead.custom == {"vip": True}


@pytest.mark.django_db
def test_opportunity_custom_values_api_and_required(world_a, api_client, client_for):
    ensure_default_pipeline(world_a.tenant)
    define(world_a.admin, "opportunity", "contract_no", "text", label="合同号", required=True)
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    missing = rep1.post(
        "/api/v1/opportunities/", {"customer": customer.pk, "name": "年度服务", "custom": {}}, content_type=JSON
    )
    assert missing.status_code == 422 and "custom_contract_no" in missing.json()["error"]["fields"]
    assert not Opportunity.objects.filter(tenant=world_a.tenant).exists()
    body = {"customer": customer.pk, "name": "年度服务", "custom": {"contract_no": "HT-9"}}
    response = rep1.post("/api/v1/opportunities/", body, content_type=JSON)
    assert response.status_code == 201, response.content
    opportunity = Opportunity.objects.get(pk=response.json()["id"])
    assert opportunity.custom == {"contract_no": "HT-9"} and response.json()["custom"] == {"contract_no": "HT-9"}
    page = client_for(world_a.rep1).get(reverse("sales:opportunity_detail", args=[opportunity.pk])).content.decode()
    assert "合同号" in page and "HT-9" in page
    edit = client_for(world_a.rep1).get(reverse("sales:opportunity_edit", args=[opportunity.pk])).content.decode()
    assert 'name="custom_contract_no"' in edit
    plain = make_opportunity(world_a.rep1, customer, name="另一单")
    listed = rep1.get("/api/v1/opportunities/", {"cf_contract_no": "HT-9"}).json()["results"]
    assert [row["id"] for row in listed] == [opportunity.pk] and plain.pk


@pytest.mark.django_db
def test_ticket_and_contact_custom_values(world_a, api_client, client_for):
    define(world_a.admin, "ticket", "sn", "text", label="设备序列号")
    define(world_a.admin, "contact", "hobby", "multi", label="爱好", choices=["茶", "高尔夫"])
    customer = make_customer(world_a.rep1)
    agent, _token = api_client(world_a.agent)
    response = agent.post(
        "/api/v1/tickets/",
        {"customer": customer.pk, "subject": "无法开机", "custom": {"sn": "SN-77"}},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.custom == {"sn": "SN-77"}
    assert agent.patch(f"/api/v1/tickets/{ticket.pk}/", {"custom": {"nope": 1}}, content_type=JSON).status_code == 422
    page = client_for(world_a.agent).get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
    assert "设备序列号" in page and "SN-77" in page and 'name="custom_sn"' in page
    tickets = client_for(world_a.admin).get(reverse("service:ticket_list"), {"cf_sn": "SN-77", "view": "all"})
    tickets = tickets.content.decode()
    assert 'name="cf_sn"' in tickets and "无法开机" in tickets
    none = client_for(world_a.admin).get(reverse("service:ticket_list"), {"cf_sn": "SN-78", "view": "all"})
    assert "无法开机" not in none.content.decode()
    contact = Contact.objects.get(customer=customer)
    rep1, _token = api_client(world_a.rep1)
    response = rep1.patch(f"/api/v1/contacts/{contact.pk}/", {"custom": {"hobby": ["高尔夫", "茶"]}}, content_type=JSON)
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.custom == {"hobby": ["茶", "高尔夫"]} and contact.mobile == "+8613800138000"
    detail = client_for(world_a.rep1).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "爱好" in detail and "茶、高尔夫" in detail


@pytest.mark.django_db
def test_a_custom_fields_help_text_is_shown_as_text_in_the_shared_field_markup(world_a, client_for):
    define(world_a.admin, "lead", "budget", "money", label="预算", help_text="<b>含税</b>")
    body = client_for(world_a.rep1).get(reverse("sales:lead_create")).content.decode()
    assert 'data-testid="custom-field"' in body
    assert "&lt;b&gt;含税&lt;/b&gt;" in body and "<b>含税</b>" not in body
