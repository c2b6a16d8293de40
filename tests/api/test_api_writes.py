"""Writes of the REST API through each app's services: contacts, customers to the recycle bin, opportunities,
follow-ups, tasks, orders, tickets and products; refusals answer the one error shape and save nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Contact
from customers.services.customer import customer_create
from sales.models import FollowUp, Opportunity, Order, Product, Task
from sales.services.pipeline import ensure_default_pipeline
from service.models import Ticket, TicketMessage

from ..sales.funnel import make_opportunity

JSON = "application/json"


def make_customer(user, name="云帆科技有限公司", mobile="13800138000"):
    return customer_create(acting_user=user, data={"name": name}, contact={"name": "张三", "mobile": mobile})


@pytest.mark.django_db
def test_contact_add_change_remove(world_a, api_client):
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(
        "/api/v1/contacts/",
        {"customer": customer.pk, "name": "李四", "mobile": "13900139000", "email": "Li@Example.com"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.mobile == "+8613900139000" and contact.email == "li@example.com" and not contact.is_primary
    response = rep1.patch(f"/api/v1/contacts/{contact.pk}/", {"title": "采购经理"}, content_type=JSON)
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.title == "采购经理" and contact.name == "李四" and contact.mobile == "+8613900139000"
    bad = rep1.patch(f"/api/v1/contacts/{contact.pk}/", {"mobile": "12", "title": "x"}, content_type=JSON)
    assert bad.status_code == 422 and "mobile" in bad.json()["error"]["fields"]
    contact.refresh_from_db()
    assert contact.title == "采购经理"
    assert rep1.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.django_db
def test_contact_masking_and_dedup(world_a, api_client):
    customer = make_customer(world_a.rep1)
    contact = Contact.objects.get(customer=customer)
    make_customer(world_a.rep2, "二组客户有限公司", mobile="13700137000")
    manager, _token = api_client(world_a.manager)
    shown = manager.get(f"/api/v1/contacts/{contact.pk}/").json()
    assert shown["mobile"] == "138****8000"
    # The masked value sent back as it was keeps the stored number.
    response = manager.put(
        f"/api/v1/contacts/{contact.pk}/", shown | {"title": "总经理", "birthday": None}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.mobile == "+8613800138000" and contact.title == "总经理"
    rep1, _token = api_client(world_a.rep1)
    clash = rep1.post(
        "/api/v1/contacts/", {"customer": customer.pk, "name": "王五", "mobile": "13700137000"}, content_type=JSON
    )
    assert clash.status_code == 422, clash.content
    assert not Contact.objects.filter(name="王五").exists()
    theirs = make_customer(world_a.rep2, "别组客户有限公司", mobile="13600136000")
    unseen = rep1.post("/api/v1/contacts/", {"customer": theirs.pk, "name": "赵六"}, content_type=JSON)
    assert unseen.status_code == 400 and "customer" in unseen.json()["error"]["fields"]


@pytest.mark.django_db
def test_customer_delete_moves_to_the_recycle_bin(world_a, api_client):
    customer = make_customer(world_a.rep1)
    rep2, _token = api_client(world_a.rep2)
    assert rep2.delete(f"/api/v1/customers/{customer.pk}/").status_code == 404
    rep1, _token = api_client(world_a.rep1)
    assert rep1.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204
    customer.refresh_from_db()
    assert customer.deleted_at is not None and customer.deleted_by == world_a.rep1
    assert rep1.get(f"/api/v1/customers/{customer.pk}/").status_code == 404


@pytest.mark.django_db
def test_opportunity_create_and_update(world_a, api_client):
    ensure_default_pipeline(world_a.tenant)
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(
        "/api/v1/opportunities/", {"customer": customer.pk, "name": "年度服务", "amount": "5000"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    opportunity = Opportunity.objects.get(pk=response.json()["id"])
    assert opportunity.owner == world_a.rep1 and opportunity.amount == Decimal("5000")
    assert opportunity.currency == world_a.tenant.currency and opportunity.stage.kind == "open"
    response = rep1.patch(f"/api/v1/opportunities/{opportunity.pk}/", {"amount": "6000"}, content_type=JSON)
    assert response.status_code == 200, response.content
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("6000") and opportunity.name == "年度服务"
    moved = rep1.patch(f"/api/v1/opportunities/{opportunity.pk}/", {"customer": 0}, content_type=JSON)
    assert moved.status_code == 400
    nameless = rep1.post("/api/v1/opportunities/", {"customer": customer.pk, "name": " "}, content_type=JSON)
    assert nameless.status_code == 400 and "name" in nameless.json()["error"]["fields"]
    theirs = make_customer(world_a.rep2, "二组客户有限公司", mobile="13700137000")
    refused = rep1.post("/api/v1/opportunities/", {"customer": theirs.pk, "name": "x"}, content_type=JSON)
    assert refused.status_code == 422
    assert Opportunity.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
def test_follow_up_task_and_order(world_a, api_client):
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    response = rep1.post(
        "/api/v1/follow-ups/", {"customer": customer.pk, "kind": "call", "content": "约了下周演示"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert FollowUp.objects.get(pk=response.json()["id"]).author == world_a.rep1
    customer.refresh_from_db()
    assert customer.last_followed_up_at is not None
    opportunity = make_opportunity(world_a.rep1, customer)
    both = rep1.post(
        "/api/v1/follow-ups/",
        {"customer": customer.pk, "opportunity": opportunity.pk, "kind": "call", "content": "x"},
        content_type=JSON,
    )
    assert both.status_code == 400 and "customer" in both.json()["error"]["fields"]

    due = (timezone.now() + timedelta(days=1)).isoformat()
    response = rep1.post(
        "/api/v1/tasks/", {"title": "发报价", "due_at": due, "customer": customer.pk}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert task.assignee == world_a.rep1
    response = rep1.patch(f"/api/v1/tasks/{task.pk}/", {"notes": "含折扣"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["title"] == "发报价"
    for _twice in range(2):
        done = rep1.post(f"/api/v1/tasks/{task.pk}/complete/", {}, content_type=JSON)
        assert done.status_code == 200 and done.json()["done_at"]
    reopened = rep1.post(f"/api/v1/tasks/{task.pk}/complete/", {"done": False}, content_type=JSON)
    assert reopened.json()["done_at"] is None
    rep2, _token = api_client(world_a.rep2)
    assert rep2.post(f"/api/v1/tasks/{task.pk}/complete/", {}, content_type=JSON).status_code == 404

    today = timezone.localdate().isoformat()
    response = rep1.post(
        "/api/v1/orders/",
        {"customer": customer.pk, "ordered_on": today, "amount": "1200", "reference": "PO-1"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.amount == Decimal("1200") and order.currency == world_a.tenant.currency
    customer.refresh_from_db()
    assert customer.last_deal_at is not None
    assert rep2.post(
        "/api/v1/orders/", {"customer": customer.pk, "ordered_on": today}, content_type=JSON
    ).status_code in (
        403,
        422,
    )
    assert Order.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
def test_ticket_create_edit_reply(world_a, api_client, mailoutbox):
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    assert (
        rep1.post("/api/v1/tickets/", {"customer": customer.pk, "subject": "x"}, content_type=JSON).status_code == 403
    )
    agent, _token = api_client(world_a.agent)
    response = agent.post(
        "/api/v1/tickets/",
        {"customer": customer.pk, "subject": "无法登录", "priority": "high", "tags": ["登录"]},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.priority == "high" and ticket.tags == ["登录"] and ticket.created_by == world_a.agent
    response = agent.patch(f"/api/v1/tickets/{ticket.pk}/", {"subject": "无法登录后台"}, content_type=JSON)
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.subject == "无法登录后台" and ticket.priority == "high"
    response = agent.post(
        f"/api/v1/tickets/{ticket.pk}/reply/", {"body": "已重置密码", "status": "resolved"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert TicketMessage.objects.get(pk=response.json()["id"]).kind == "reply"
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    empty = agent.post(f"/api/v1/tickets/{ticket.pk}/reply/", {"body": " "}, content_type=JSON)
    assert empty.status_code in (400, 422)
    assert TicketMessage.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db
def test_products_read_for_all_written_by_admins(world_a, world_b, api_client):
    admin, _token = api_client(world_a.admin)
    data = {"code": "CRM-PRO", "name": "CRM 专业版", "list_price": "9800.00", "currency": "CNY"}
    response = admin.post("/api/v1/products/", data, content_type=JSON)
    assert response.status_code == 201, response.content
    product = Product.objects.get(pk=response.json()["id"])
    clash = admin.post("/api/v1/products/", data | {"code": "crm-pro"}, content_type=JSON)
    assert clash.status_code == 422 and "code" in clash.json()["error"]["fields"]
    assert admin.patch(f"/api/v1/products/{product.pk}/", {"is_active": False}, content_type=JSON).status_code == 200
    rep1, _token = api_client(world_a.rep1)
    assert [row["code"] for row in rep1.get("/api/v1/products/").json()["results"]] == ["CRM-PRO"]
    assert rep1.get("/api/v1/products/", {"show": "active"}).json()["results"] == []
    assert rep1.patch(f"/api/v1/products/{product.pk}/", {"name": "x"}, content_type=JSON).status_code == 403
    assert rep1.post("/api/v1/products/", data | {"code": "X"}, content_type=JSON).status_code == 403
    other, _token = api_client(world_b.admin)
    assert other.get(f"/api/v1/products/{product.pk}/").status_code == 404
    product.refresh_from_db()
    assert product.name == "CRM 专业版" and not product.is_active
    assert Product.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
def test_write_with_idempotency_key_creates_once(world_a, api_client):
    customer = make_customer(world_a.rep1)
    rep1, _token = api_client(world_a.rep1)
    body = {"customer": customer.pk, "name": "李四"}
    first = rep1.post("/api/v1/contacts/", body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-1")
    again = rep1.post("/api/v1/contacts/", body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Contact.objects.filter(customer=customer, name="李四").count() == 1
