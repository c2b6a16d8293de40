from decimal import Decimal

import pytest
from django.urls import reverse

from crm.api.models import CustomField
from crm.api.services.custom_field import custom_field_archive, custom_field_save, custom_values_clean
from crm.errors import DomainError
from customers.models import Customer
from customers.services.customer import customer_create, customer_update

URL = "/api/v1/customers/"


def define(admin, key, type, **extra):
    return custom_field_save(
        acting_user=admin, kind="customer", key=key, label=extra.pop("label", key), type=type, **extra
    )


@pytest.fixture
def fields(world_a):
    return {
        "contract_no": define(world_a.admin, "contract_no", "text"),
        "budget": define(world_a.admin, "budget", "money"),
        "signed_on": define(world_a.admin, "signed_on", "date"),
        "channel": define(world_a.admin, "channel", "choice", choices=["直销", "代理"]),
        "products": define(world_a.admin, "products", "multi", choices=["CRM", "ERP", "OA"]),
        "vip": define(world_a.admin, "vip", "boolean"),
        "seats": define(world_a.admin, "seats", "number"),
    }


@pytest.mark.django_db
def test_values_are_checked_by_type(world_a, fields):
    clean = custom_values_clean(
        tenant_id=world_a.tenant.pk,
        kind="customer",
        values={
            "contract_no": " HT-001 ",
            "budget": "12,000.5",
            "signed_on": "2026-03-01",
            "channel": "代理",
            "products": ["OA", "CRM"],
            "vip": "yes",
            "seats": "25",
        },
    )
    assert clean == {
        "contract_no": "HT-001",
        "budget": "12000.50",
        "signed_on": "2026-03-01",
        "channel": "代理",
        "products": ["CRM", "OA"],
        "vip": True,
        "seats": 25,
    }
    for key, bad in (
        ("budget", "lots"),
        ("signed_on", "31/02/2026"),
        ("channel", "电话"),
        ("products", ["CRM", "SAP"]),
        ("vip", "maybe"),
        ("seats", True),
    ):
        with pytest.raises(DomainError) as refused:
            custom_values_clean(tenant_id=world_a.tenant.pk, kind="customer", values={key: bad})
        assert refused.value.field == f"custom_{key}"
    with pytest.raises(DomainError) as refused:
        custom_values_clean(tenant_id=world_a.tenant.pk, kind="customer", values={"nope": 1})
    assert refused.value.field == "custom"


@pytest.mark.django_db
def test_definitions_are_checked_and_admin_only(world_a, world_b):
    define(world_a.admin, "contract_no", "text")
    with pytest.raises(DomainError) as refused:
        define(world_a.admin, "contract_no", "number")
    assert refused.value.field == "key"
    define(world_b.admin, "contract_no", "text")  # keys are per company
    for key, type, extra in (("Bad Key", "text", {}), ("x", "colour", {}), ("y", "choice", {"choices": []})):
        with pytest.raises(DomainError):
            define(world_a.admin, key, type, **extra)
    with pytest.raises(Exception) as denied:
        define(world_a.manager, "other", "text")
    assert denied.type.__name__ == "PermissionDenied"


@pytest.mark.django_db
def test_required_and_archive_keep_data(world_a, fields):
    field = fields["contract_no"]
    custom_field_save(acting_user=world_a.admin, field=field, kind="", key="", type="", label="合同号", required=True)
    with pytest.raises(DomainError) as refused:
        customer_create(acting_user=world_a.rep1, data={"name": "云帆科技", "custom": {"budget": "1"}})
    assert refused.value.field == "custom_contract_no"
    assert not Customer.objects.exists()
    customer = customer_create(
        acting_user=world_a.rep1, data={"name": "云帆科技", "custom": {"contract_no": "HT-1", "budget": "1"}}
    )
    custom_field_archive(acting_user=world_a.admin, field=field)
    customer_update(acting_user=world_a.rep1, customer=customer, data={"custom": {"budget": "2"}})
    customer.refresh_from_db()
    assert customer.custom == {"contract_no": "HT-1", "budget": "2.00"}  # the archived field's value stays


@pytest.mark.django_db
def test_api_reads_writes_and_filters_custom_values(world_a, world_b, fields, api_client):
    rep1, _token = api_client(world_a.rep1)
    created = rep1.post(
        URL,
        {"name": "云帆科技", "custom": {"channel": "代理", "budget": 5000, "products": ["ERP"]}},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["custom"] == {"channel": "代理", "budget": "5000.00", "products": ["ERP"]}
    other = customer_create(acting_user=world_a.rep1, data={"name": "海川贸易", "custom": {"channel": "直销"}})
    refused = rep1.post(URL, {"name": "坏数据", "custom": {"budget": "lots"}}, content_type="application/json")
    assert refused.status_code == 422 and "custom_budget" in refused.json()["error"]["fields"]
    assert [row["id"] for row in rep1.get(URL, {"cf_channel": "直销"}).json()["results"]] == [other.pk]
    assert [row["name"] for row in rep1.get(URL, {"cf_products": "ERP"}).json()["results"]] == ["云帆科技"]
    assert len(rep1.get(URL, {"cf_budget": "5000"}).json()["results"]) == 1
    assert len(rep1.get(URL, {"cf_budget": "oops"}).json()["results"]) == 2  # a bad value filters nothing out
    patched = rep1.patch(f"{URL}{other.pk}/", {"custom": {"vip": True}}, content_type="application/json")
    assert patched.json()["custom"] == {"channel": "直销", "vip": True}
    # Another company's field keys are unknown here.
    define(world_b.admin, "b_only", "text")
    unknown = rep1.patch(f"{URL}{other.pk}/", {"custom": {"b_only": "x"}}, content_type="application/json")
    assert unknown.status_code == 422


@pytest.mark.django_db
def test_customer_form_shows_and_saves_custom_fields(world_a, fields, client_for):
    client = client_for(world_a.rep1)
    page = client.get(reverse("customers:create")).content.decode()
    assert 'name="custom_channel"' in page and 'name="custom_products"' in page
    customer = customer_create(acting_user=world_a.rep1, data={"name": "云帆科技", "custom": {"seats": 3}})
    form = client.get(reverse("customers:edit", args=[customer.pk])).context["form"]
    assert form["custom_seats"].initial == 3
    data = {
        "kind": "company",
        "name": "云帆科技",
        "status": customer.status,
        "custom_budget": "99.5",
        "custom_channel": "直销",
        "custom_seats": "3",
        "custom_vip": "true",
    }
    response = client.post(reverse("customers:edit", args=[customer.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.custom == {"budget": "99.50", "channel": "直销", "seats": 3, "vip": True}
    bad = client.post(reverse("customers:edit", args=[customer.pk]), {**data, "custom_channel": "电话"})
    assert bad.status_code == 422
    assert Decimal(customer.custom["budget"]) == Decimal("99.5")


@pytest.mark.django_db
def test_settings_pages(world_a, world_b, client_for):
    theirs = define(world_b.admin, "contract_no", "text")
    admin = client_for(world_a.admin)
    assert client_for(world_a.rep1).get(reverse("api:custom_fields")).status_code == 403
    assert admin.get(reverse("api:custom_field_edit", args=[theirs.pk])).status_code == 404
    assert admin.post(reverse("api:custom_field_archive", args=[theirs.pk])).status_code == 404
    response = admin.post(
        reverse("api:custom_fields"),
        {
            "kind": "customer",
            "label": "渠道",
            "key": "channel",
            "type": "choice",
            "choices": "直销\n代理",
            "position": 1,
        },
    )
    assert response.status_code == 302
    field = CustomField.objects.get(tenant=world_a.tenant)
    assert field.choices == ["直销", "代理"]
    response = admin.post(
        reverse("api:custom_field_edit", args=[field.pk]),
        {"label": "销售渠道", "choices": "直销\n代理\n电商", "position": 2, "key": "changed", "type": "text"},
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.key, field.type, field.choices) == (
        "销售渠道",
        "channel",
        "choice",
        ["直销", "代理", "电商"],
    )
    admin.post(reverse("api:custom_field_archive", args=[field.pk]))
    field.refresh_from_db()
    assert field.archived_at is not None
