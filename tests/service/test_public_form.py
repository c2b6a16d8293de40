"""The public ticket form (/f/<company>/ticket/): files a ticket for the sender's contact (found by email, or
created without a duplicate), with the lead form's protections: honeypot, fill-time token, rate limit per address."""

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from crm.antirobot import issue_token
from customers.models import Contact, Customer
from service.models import Ticket

from .helpers import make_customer


def fields(tenant_id, **extra):
    data = {
        "name": "李娜",
        "email": "li.na@yunfan.example",
        "phone": "13800138000",
        "company": "",
        "subject": "发票抬头错误",
        "description": "上月发票抬头写错了，请重开。",
        "ts": issue_token(tenant_id, timezone.now().timestamp() - 10, purpose="ticket"),
        "homepage": "",
    }
    data.update(extra)
    return data


def post(world, ip="10.0.0.1", **extra):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the visitor chose English; the company speaks zh-hans
    return client.post(f"/f/{world.tenant.slug}/ticket/", fields(world.tenant.pk, **extra), REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_a_known_contact_files_a_ticket(world_a, redis_test_db):
    customer, contact = make_customer(world_a.rep1)
    page = Client().get(f"/f/{world_a.tenant.slug}/ticket/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    response = post(world_a)
    assert response.status_code == 302 and response["Location"] == f"/f/{world_a.tenant.slug}/ticket/thanks/"
    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.contact, ticket.channel) == (customer, contact, "web")
    assert Client().get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_a_new_sender_with_a_company_gets_one_customer(world_a, redis_test_db):
    for ip, email in (("10.0.0.2", "wang@haitian.example"), ("10.0.0.3", "zhao@haitian.example")):
        post(world_a, ip=ip, email=email, company="青岛海天食品有限公司", phone="")
    customer = Customer.objects.get(tenant=world_a.tenant, name="青岛海天食品有限公司")
    assert Contact.objects.filter(customer=customer).count() == 2 and Ticket.objects.count() == 2


@pytest.mark.django_db
def test_robots_and_bad_input_save_nothing(world_a, redis_test_db):
    assert post(world_a, homepage="http://spam.example").status_code == 302
    assert post(world_a, ts=issue_token(world_a.tenant.pk, purpose="ticket")).status_code == 400  # too quick
    assert post(world_a, ts=issue_token(world_a.tenant.pk, timezone.now().timestamp() - 10)).status_code == 400
    bad = post(world_a, email="not-an-email", subject="")
    assert bad.status_code == 422 and "Enter a valid email address." in bad.content.decode()
    assert not Ticket.objects.exists() and not Customer.objects.exists()
    assert Client().get("/f/nobody/ticket/").status_code == 404


@pytest.mark.django_db
@override_settings(LEAD_FORM_RATE="2/10m")
def test_the_rate_limit_per_address(world_a, redis_test_db):
    make_customer(world_a.rep1)
    assert [post(world_a, ip="10.9.9.9").status_code for _ in range(3)] == [302, 302, 429]
    assert post(world_a, ip="10.9.9.8").status_code == 302
    assert Ticket.objects.count() == 3
