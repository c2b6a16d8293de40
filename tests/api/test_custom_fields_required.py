"""A required custom field is required on every API create, also when the body leaves `custom` out altogether."""

import pytest

from crm.api.services.custom_field import custom_field_save
from customers.models import Contact, Customer
from customers.services.customer import customer_create
from sales.models import Lead, Opportunity
from sales.services.pipeline import ensure_default_pipeline
from service.models import Ticket

JSON = "application/json"

CASES = {
    "customer": ("/api/v1/customers/", Customer, "rep1", lambda customer: {"name": "海川贸易有限公司"}),
    "contact": (
        "/api/v1/contacts/",
        Contact,
        "rep1",
        lambda customer: {"customer": customer.pk, "name": "李四", "mobile": "13900139001"},
    ),
    "lead": ("/api/v1/leads/", Lead, "rep1", lambda customer: {"name": "赵磊", "phone": "13700137001"}),
    "opportunity": (
        "/api/v1/opportunities/",
        Opportunity,
        "rep1",
        lambda customer: {"customer": customer.pk, "name": "年度服务"},
    ),
    "ticket": ("/api/v1/tickets/", Ticket, "agent", lambda customer: {"customer": customer.pk, "subject": "无法开机"}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(CASES))
def test_create_without_custom_is_refused_when_a_field_is_required(kind, world_a, api_client):
    url, model, role, body_for = CASES[kind]
    ensure_default_pipeline(world_a.tenant)
    customer = customer_create(
        acting_user=world_a.rep1, data={"name": "云帆科技有限公司"}, contact={"name": "张三", "mobile": "13800138000"}
    )
    custom_field_save(
        acting_user=world_a.admin, kind=kind, key="contract_no", label="合同号", type="text", required=True
    )
    client, _token = api_client(getattr(world_a, role))
    before = model.objects.filter(tenant=world_a.tenant).count()
    body = body_for(customer)

    refused = client.post(url, body, content_type=JSON)
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert "custom_contract_no" in error["fields"]
    assert "合同号" in str(error["fields"]["custom_contract_no"])
    assert model.objects.filter(tenant=world_a.tenant).count() == before

    empty = client.post(url, body | {"custom": {}}, content_type=JSON)
    assert empty.status_code == 422 and "custom_contract_no" in empty.json()["error"]["fields"]

    created = client.post(url, body | {"custom": {"contract_no": "HT-2026-001"}}, content_type=JSON)
    assert created.status_code == 201, created.content
    assert model.objects.get(pk=created.json()["id"]).custom == {"contract_no": "HT-2026-001"}
