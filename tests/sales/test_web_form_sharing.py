"""The public lead form's privacy notice (the visitor's consent and the text version kept with the lead), its
embeddable variant (framable by other sites, that page only) and its QR code."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.antirobot import issue_token
from sales.models import Lead
from sales.services.web_form import web_form_save

pytestmark = pytest.mark.usefixtures("redis_test_db")

NOTICE_V1 = "我们仅将您的联系方式用于回复您的咨询。"
NOTICE_V2 = "我们仅将您的联系方式用于回复您的咨询，保存一年。"


def _save(world, privacy_text):
    return web_form_save(
        acting_user=world.admin,
        is_enabled=True,
        title="Talk to our sales team",
        intro="",
        thank_you="Thank you.",
        fields=["name", "phone"],
        required_fields=["name", "phone"],
        owner=world.rep1,
        privacy_text=privacy_text,
    )


@pytest.fixture
def web_form(world, settings):
    settings.LEAD_FORM_MIN_SECONDS = 3
    settings.LEAD_FORM_RATE = "30/10m"
    world.tenant.language = "en"
    world.tenant.save(update_fields=["language"])
    return _save(world, NOTICE_V1)


def _post(world, url_name="sales:public_lead_form", client=None, **extra):
    data = {
        "name": "孙小姐",
        "phone": "13655556666",
        "ts": issue_token(world.tenant.pk, timezone.now().timestamp() - 10),
        "homepage": "",
        **extra,
    }
    return (client or Client()).post(reverse(url_name, args=[world.tenant.slug]), data, REMOTE_ADDR="10.9.0.1")


@pytest.mark.django_db
def test_the_notice_is_shown_and_consent_is_required(world, web_form):
    body = Client().get(reverse("sales:public_lead_form", args=[world.tenant.slug])).content.decode()
    assert NOTICE_V1 in body and 'name="consent"' in body
    response = _post(world)
    assert response.status_code == 422
    assert "Please agree to the privacy notice to send the form." in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_the_lead_keeps_the_version_and_text_agreed_to(world, web_form):
    assert web_form.privacy_version == 1
    assert _post(world, consent="on", privacy_version="1").status_code == 302
    lead = Lead.objects.get()
    assert (lead.consent_version, lead.consent_text) == (1, NOTICE_V1) and lead.consent_at is not None

    changed = _save(world, NOTICE_V2)
    assert changed.privacy_version == 2
    assert _save(world, NOTICE_V2).privacy_version == 2  # the same text is not a new version
    # A visitor who ticked the old notice is asked to read the new one; nothing is saved.
    response = _post(world, consent="on", privacy_version="1", phone="13655550000")
    assert response.status_code == 422 and "The privacy notice has just changed" in response.content.decode()
    assert _post(world, consent="on", privacy_version="2", phone="13655550000").status_code == 302
    assert list(Lead.objects.order_by("pk").values_list("consent_version", "consent_text")) == [
        (1, NOTICE_V1),
        (2, NOTICE_V2),
    ]


@pytest.mark.django_db
def test_without_a_notice_there_is_no_checkbox(world, web_form):
    _save(world, "")
    assert (
        'name="consent"'
        not in Client().get(reverse("sales:public_lead_form", args=[world.tenant.slug])).content.decode()
    )
    assert _post(world).status_code == 302
    assert Lead.objects.get().consent_at is None


@pytest.mark.django_db
def test_only_the_embeddable_form_may_be_framed(world, web_form):
    direct = Client().get(reverse("sales:public_lead_form", args=[world.tenant.slug]))
    assert direct["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in direct["Content-Security-Policy"]
    embed = Client().get(reverse("sales:public_lead_embed", args=[world.tenant.slug]))
    assert embed.status_code == 200 and "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "script-src 'self'" in embed["Content-Security-Policy"]
    # In a frame the browser withholds the CSRF cookie: the embedded form posts without it, and thanks in the frame.
    response = _post(world, "sales:public_lead_embed", client=Client(enforce_csrf_checks=True), consent="on")
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:public_lead_embed_thanks", args=[world.tenant.slug])
    thanks = Client().get(response["Location"])
    assert thanks.status_code == 200 and "X-Frame-Options" not in thanks
    assert Lead.objects.count() == 1
    # The direct form still wants its CSRF token.
    assert _post(world, client=Client(enforce_csrf_checks=True), consent="on", phone="13655550001").status_code == 403


@pytest.mark.django_db
def test_embedded_form_keeps_the_robot_checks(world, web_form):
    response = _post(world, "sales:public_lead_embed", consent="on", ts="forged")
    assert response.status_code == 400 and not Lead.objects.exists()
    response = _post(world, "sales:public_lead_embed", consent="on", homepage="http://spam.example")
    assert response.status_code == 302 and not Lead.objects.exists()


@pytest.mark.django_db
def test_settings_show_the_snippet_and_the_qr_code(world, web_form, client_for):
    c = client_for(world.admin)
    body = c.get(reverse("sales:web_form_settings")).content.decode()
    embed_url = "http://testserver" + reverse("sales:public_lead_embed", args=[world.tenant.slug])
    assert f"&lt;iframe src=&quot;{embed_url}&quot;" in body
    assert reverse("sales:web_form_qr") in body and 'name="privacy_text"' in body
    svg = c.get(reverse("sales:web_form_qr"))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    png = c.get(reverse("sales:web_form_qr"), {"format": "png"})
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert c.get(reverse("sales:web_form_qr"), {"format": "gif"})["Content-Type"] == "image/svg+xml"
    for user in (world.manager, world.rep1):
        assert client_for(user).get(reverse("sales:web_form_qr")).status_code == 403


@pytest.mark.django_db
def test_admin_saves_the_notice_from_settings(world, web_form, client_for):
    c = client_for(world.admin)
    data = {
        "is_enabled": "on",
        "title": "Talk to us",
        "fields_": ["name", "phone"],
        "required_fields": ["name"],
        "thank_you": "Thanks",
        "privacy_text": NOTICE_V2,
    }
    assert c.post(reverse("sales:web_form_settings"), data).status_code == 302
    web_form.refresh_from_db()
    assert (web_form.privacy_text, web_form.privacy_version) == (NOTICE_V2, 2)


@pytest.mark.django_db
def test_the_lead_page_shows_the_consent(world, web_form, client_for):
    _post(world, consent="on")
    lead = Lead.objects.get()
    body = client_for(world.rep1).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert "Agreed to privacy notice v1 on" in body and NOTICE_V1 in body
