"""The public lead form at /f/<tenant-slug>/lead/: the fields the admin chose, CSRF, a honeypot, a minimum fill
time and a rate limit per address and tenant (in the cache, Redis) — bots and floods turned away, every real
visitor's lead kept (duplicates too), its owner told; and the admin's settings page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.antirobot import issue_token
from crm.models import Notification
from customers.services.assignment_rule import rule_save, rule_set_active
from sales.models import Lead, LeadWebForm
from sales.services.web_form import web_form_save

from .funnel import make_lead
from .helpers import make_customer

pytestmark = pytest.mark.usefixtures("redis_test_db")


@pytest.fixture
def web_form(world, settings):
    settings.LEAD_FORM_MIN_SECONDS = 3
    settings.LEAD_FORM_RATE = "3/10m"
    world.tenant.language = "en"
    world.tenant.save(update_fields=["language"])
    return web_form_save(
        acting_user=world.admin,
        is_enabled=True,
        title="Talk to our sales team",
        intro="We answer within a day.",
        thank_you="Thank you, we will call you back today.",
        fields=["name", "company", "phone", "email", "message"],
        required_fields=["name", "phone"],
        owner=world.rep1,
        source="官网表单",
    )


def url(world):
    return reverse("sales:public_lead_form", args=[world.tenant.slug])


def fields(**extra):
    data = {
        "name": "孙小姐",
        "company": "青岛海岸食品有限公司",
        "phone": "13655556666",
        "email": "sun@haian.test",
        "message": "想要一个报价",
        "ts": issue_token(extra.pop("tenant_id"), timezone.now().timestamp() - 10),
        "homepage": "",
    }
    data.update(extra)
    return data


def post(world, client=None, ip="10.0.0.1", **data):
    client = client or Client()
    return client.post(url(world), fields(tenant_id=world.tenant.pk, **data), REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_the_form_asks_what_the_admin_chose(world, web_form):
    page = Client().get(url(world))
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "Talk to our sales team" in body and "We answer within a day." in body
    for name in ("name", "company", "phone", "email", "message"):
        assert f'name="{name}"' in body
    assert 'name="wechat"' not in body and 'name="homepage"' in body and 'name="ts"' in body
    # The page says nothing of the company behind it beyond what the admin wrote.
    assert world.tenant.name not in body and world.tenant.slug not in body


@pytest.mark.django_db
def test_a_visitor_sends_it_and_the_forms_owner_gets_the_lead(world, web_form):
    response = post(world)
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:public_lead_thanks", args=[world.tenant.slug])
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.origin, lead.owner, lead.source) == (
        "孙小姐",
        "+8613655556666",
        "web_form",
        world.rep1,
        "官网表单",
    )
    assert lead.web_form == web_form and lead.created_by is None
    assert Notification.objects.get(recipient=world.rep1).url == reverse("sales:lead_detail", args=[lead.pk])
    thanks = Client().get(response["Location"]).content.decode()
    assert "Thank you, we will call you back today." in thanks


@pytest.mark.django_db
def test_without_an_owner_the_lead_waits_unassigned_for_managers(world, web_form, client_for):
    LeadWebForm.objects.filter(pk=web_form.pk).update(owner=None)
    post(world, utm_campaign="双十一")
    lead = Lead.objects.get()
    assert lead.owner is None and lead.campaign == "双十一"
    assert (
        "孙小姐" in client_for(world.manager).get(reverse("sales:lead_list"), {"owner": "unassigned"}).content.decode()
    )


@pytest.mark.django_db
def test_a_duplicate_visitor_is_kept_flagged_and_the_holder_told(world, web_form):
    customer = make_customer(world.rep2, "青岛海岸食品有限公司", mobile="13655556666")
    post(world)
    lead = Lead.objects.get()
    assert lead.is_duplicate and lead.duplicate_of_customer == customer
    assert (
        Notification.objects.get(recipient=world.rep2).title
        == "New enquiry matching your customer 青岛海岸食品有限公司"
    )
    post(world, ip="10.0.0.2")
    again = Lead.objects.latest("pk")
    assert again.duplicate_of_lead == lead and Lead.objects.count() == 2


@pytest.mark.django_db
def test_the_honeypot_drops_a_robot_quietly(world, web_form):
    response = post(world, homepage="http://spam.example")
    assert response.status_code == 302  # thanked, so it learns nothing
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_too_fast_or_without_a_valid_token_the_form_comes_back_with_everything_kept(world, web_form):
    response = post(world, ts=issue_token(world.tenant.pk))  # sent the moment it was shown
    body = response.content.decode()
    assert response.status_code == 400 and "That was quick!" in body
    assert 'value="孙小姐"' in body and 'value="13655556666"' in body
    assert not Lead.objects.exists()
    for i, token in enumerate(("", "forged", issue_token(world.tenant.pk + 1000, timezone.now().timestamp() - 10))):
        response = post(world, ts=token, ip=f"10.0.1.{i}")
        assert response.status_code == 400 and "This form has expired" in response.content.decode()
    assert not Lead.objects.exists()
    # A person sends it again a few seconds later: the lead is taken.
    assert post(world, ip="10.0.0.9").status_code == 302
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_a_flood_from_one_address_is_held_off_without_losing_anyone_else(world, web_form, world_b):
    for i in range(3):
        assert post(world, ip="10.1.1.1", phone=f"1365555000{i}").status_code == 302
    flooded = post(world, ip="10.1.1.1", phone="13655550009", name="第四次")
    assert flooded.status_code == 429
    body = flooded.content.decode()
    assert "Please wait a few minutes" in body and 'value="第四次"' in body
    assert Lead.objects.count() == 3
    # Another visitor is not affected, nor is this address on another company's form.
    assert post(world, ip="10.1.1.2", phone="13655550010").status_code == 302
    form_b = web_form_save(
        acting_user=world_b.admin,
        is_enabled=True,
        title="B",
        intro="",
        thank_you="thanks",
        fields=["name", "phone"],
        required_fields=["name"],
        owner=None,
    )
    response = Client().post(
        reverse("sales:public_lead_form", args=[world_b.tenant.slug]),
        {"name": "乙", "phone": "13655550011", "ts": issue_token(form_b.tenant_id, timezone.now().timestamp() - 10)},
        REMOTE_ADDR="10.1.1.1",
    )
    assert response.status_code == 302
    assert Lead.objects.filter(tenant=world_b.tenant).count() == 1


@pytest.mark.django_db
def test_csrf_is_required(world, web_form):
    client = Client(enforce_csrf_checks=True)
    data = fields(tenant_id=world.tenant.pk)
    assert client.post(url(world), data, REMOTE_ADDR="10.2.2.2").status_code == 403
    client.get(url(world))
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post(url(world), data, REMOTE_ADDR="10.2.2.2").status_code == 302
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_bad_input_is_shown_back_and_nothing_saved(world, web_form):
    response = post(world, phone="12345")
    assert response.status_code == 422 and "is not a valid phone number" in response.content.decode()
    response = post(world, phone="", ip="10.3.3.3")
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_closed_or_unknown_form_is_404(world, web_form):
    LeadWebForm.objects.filter(pk=web_form.pk).update(is_enabled=False)
    assert Client().get(url(world)).status_code == 404
    assert Client().get(reverse("sales:public_lead_thanks", args=[world.tenant.slug])).status_code == 404
    assert Client().get(reverse("sales:public_lead_form", args=["no-such-company"])).status_code == 404
    assert post(world).status_code == 404
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_the_admin_chooses_the_fields(world, client_for):
    settings_url = reverse("sales:web_form_settings")
    assert client_for(world.rep1).get(settings_url).status_code == 403
    c = client_for(world.admin)
    page = c.get(settings_url).content.decode()
    assert reverse("sales:public_lead_form", args=[world.tenant.slug]) in page
    data = {
        "is_enabled": "on",
        "title": "联系我们",
        "thank_you": "谢谢",
        "fields_": ["name", "wechat", "message"],
        "required_fields": ["name"],
        "owner": "",
    }
    response = c.post(settings_url, data)
    assert response.status_code == 422 and "Ask for a phone number or an email" in response.content.decode()
    assert not LeadWebForm.objects.exists()
    data["fields_"] = ["name", "wechat", "email"]
    data["required_fields"] = ["email", "message"]
    assert c.post(settings_url, data).status_code == 302
    form = LeadWebForm.objects.get()
    assert form.fields == ["name", "email", "wechat"] and form.required_fields == ["name", "email"]
    assert form.owner is None and form.is_enabled
    body = Client().get(url(world)).content.decode()
    assert 'name="wechat"' in body and 'name="phone"' not in body


@pytest.mark.django_db
def test_the_owner_of_an_existing_lead_is_told_when_it_comes_back(world, web_form):
    make_lead(world.rep2, "老线索", phone="13655556666")
    post(world)
    note = Notification.objects.get(recipient=world.rep2)
    assert note.title == "New enquiry matching your lead 老线索"
    assert "held by A 销售一" in note.body


@pytest.mark.django_db
def test_without_an_owner_the_assignment_rules_choose_and_take_turns(
    world, web_form, django_capture_on_commit_callbacks
):

    LeadWebForm.objects.filter(pk=web_form.pk).update(owner=None)
    rule = rule_save(
        acting_user=world.admin,
        tenant=world.tenant,
        name="官网线索轮流",
        applies_to="both",
        team=world.sales,
        method="round_robin",
        sources=["官网表单"],
    )
    rule_set_active(acting_user=world.admin, rule=rule, active=True)
    with django_capture_on_commit_callbacks(execute=False):
        post(world, ip="10.0.0.2", phone="13655550001", email="a1@x.test", name="甲")
        post(world, ip="10.0.0.3", phone="13655550002", email="a2@x.test", name="乙")
    owners = list(Lead.objects.order_by("pk").values_list("owner_id", flat=True))
    assert None not in owners and owners[0] != owners[1]
    # One digest each from the rules (the second visitor is also a duplicate, so its holder hears of it too).
    assert Notification.objects.filter(recipient_id__in=owners, title__contains="assignment rules").count() == 2
