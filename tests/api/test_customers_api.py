from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import AuditEvent
from customers.models import Customer, CustomerLevel
from customers.services.customer import customer_create

URL = "/api/v1/customers/"


def make(user, name, **data):
    return customer_create(acting_user=user, data={"name": name, **data})


@pytest.mark.django_db
def test_list_is_what_the_user_sees(world_a, world_b, api_client):
    mine = make(world_a.rep1, "一组客户")
    theirs = make(world_a.rep2, "二组客户")
    make(world_b.rep1, "别家客户")
    rep1, _token = api_client(world_a.rep1, scope="read")
    assert [row["id"] for row in rep1.get(URL).json()["results"]] == [mine.pk]
    manager, _token = api_client(world_a.manager, scope="read")
    assert {row["id"] for row in manager.get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert rep1.get(f"{URL}{theirs.pk}/").status_code == 404
    assert rep1.get(f"{URL}{mine.pk}/").json()["name"] == "一组客户"


@pytest.mark.django_db
def test_other_tenants_ids_are_404(world_a, world_b, api_client):
    foreign = make(world_b.rep1, "别家客户")
    admin, _token = api_client(world_a.admin)
    response = admin.get(f"{URL}{foreign.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert admin.patch(f"{URL}{foreign.pk}/", {"name": "x"}, content_type="application/json").status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "别家客户"
    level_b = CustomerLevel.objects.filter(tenant=world_b.tenant).first() or CustomerLevel.objects.create(
        tenant=world_b.tenant, name="B级"
    )
    response = admin.post(URL, {"name": "新客户", "level": level_b.pk}, content_type="application/json")
    assert response.status_code == 400
    assert "level" in response.json()["error"]["fields"]
    assert not Customer.objects.filter(name="新客户").exists()


@pytest.mark.django_db
def test_create_goes_through_the_service(world_a, api_client):
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(URL, {"name": "云帆科技有限公司", "industry": "制造"}, content_type="application/json")
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(pk=response.json()["id"])
    assert customer.owner == world_a.rep1 and customer.tenant == world_a.tenant
    assert AuditEvent.objects.filter(object_id=str(customer.pk), action__startswith="customer.").exists()
    # The duplicate protection of the pages applies: the same company again is refused, nothing saved.
    again = rep1.post(URL, {"name": "云帆科技"}, content_type="application/json")
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "refused"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_validation_error_shape(world_a, api_client):
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(URL, {"kind": "planet"}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["status"] == 400
    assert set(error["fields"]) >= {"name", "kind"}
    assert all(isinstance(m, str) for messages in error["fields"].values() for m in messages)


@pytest.mark.django_db
def test_update_and_permissions(world_a, api_client):
    customer = make(world_a.rep1, "一组客户")
    rep1, _token = api_client(world_a.rep1)
    response = rep1.patch(f"{URL}{customer.pk}/", {"region": "上海"}, content_type="application/json")
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert customer.region == "上海市"  # the company's region list reads 上海 as 上海市
    rep2, _token = api_client(world_a.rep2)
    assert rep2.patch(f"{URL}{customer.pk}/", {"region": "北京"}, content_type="application/json").status_code == 404
    agent, _token = api_client(world_a.agent)
    assert agent.post(URL, {"name": "客服建的"}, content_type="application/json").status_code == 403


@pytest.mark.django_db
def test_filters_updated_since_and_cursor(world_a, api_client, django_assert_max_num_queries):
    for i in range(7):
        make(world_a.rep1, f"客户{i}", industry="制造" if i % 2 else "零售")
    old = Customer.objects.get(name="客户0")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=10))
    rep1, _token = api_client(world_a.rep1, scope="read")
    assert len(rep1.get(URL, {"industry": "制造"}).json()["results"]) == 3
    since = (timezone.now() - timedelta(days=1)).isoformat()
    names = {row["name"] for row in rep1.get(URL, {"updated_since": since}).json()["results"]}
    assert "客户0" not in names and len(names) == 6
    bad = rep1.get(URL, {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()["error"]["fields"]
    seen, url = [], URL + "?page_size=3"
    with django_assert_max_num_queries(12):
        page = rep1.get(url).json()
    while True:
        seen += [row["id"] for row in page["results"]]
        if not page["next"]:
            break
        page = rep1.get(page["next"]).json()
    assert len(seen) == 7 and seen == sorted(seen)


@pytest.mark.django_db
def test_idempotency_key_creates_once(world_a, world_b, api_client):
    rep1, _token = api_client(world_a.rep1)
    body = {"name": "云帆科技有限公司"}
    first = rep1.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == 201
    again = rep1.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    other = rep1.post(URL, {"name": "别的公司"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert other.status_code == 422 and Customer.objects.count() == 1
    # A refused create keeps no key: the retry runs again (and is refused again, as a duplicate).
    refused = rep1.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="dup-1")
    assert refused.status_code == 422
    # Keys are per user: another company's user with the same key creates their own.
    b_rep, _token = api_client(world_b.rep1)
    theirs = b_rep.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
