import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from crm.models import User


@pytest.mark.django_db
def test_login_by_email_any_case_and_logout(world_a):
    c = Client()
    r = c.post(reverse("login"), {"username": "REP1@a.test", "password": "pw-123456"}, REMOTE_ADDR="10.0.0.1")
    assert r.status_code == 302 and r["Location"] == reverse("home")
    assert c.get(reverse("home")).status_code == 200
    c.post(reverse("logout"))
    assert c.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_deactivated_user_cannot_log_in(world_a):
    world_a.rep1.is_active = False
    world_a.rep1.save()
    r = Client().post(reverse("login"), {"username": "rep1@a.test", "password": "pw-123456"})
    assert r.status_code == 200 and b"form-errors" in r.content


@pytest.mark.django_db
def test_lockout_is_on_username_and_ip_together(world_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    office_ip, other_ip = "203.0.113.7", "198.51.100.9"
    c = Client()
    for _ in range(3):
        c.post(reverse("login"), {"username": "rep1@a.test", "password": "wrong"}, REMOTE_ADDR=office_ip)
    # Locked: even the right password is refused from that address.
    r = c.post(reverse("login"), {"username": "rep1@a.test", "password": "pw-123456"}, REMOTE_ADDR=office_ip)
    assert r.status_code == 429
    # A colleague in the same office (same IP) still logs in.
    r = Client().post(reverse("login"), {"username": "rep2@a.test", "password": "pw-123456"}, REMOTE_ADDR=office_ip)
    assert r.status_code == 302
    # The same user from another address is not locked either.
    r = Client().post(reverse("login"), {"username": "rep1@a.test", "password": "pw-123456"}, REMOTE_ADDR=other_ip)
    assert r.status_code == 302


@pytest.mark.django_db
def test_password_reset_by_email_sets_a_new_password(world_a):
    c = Client()
    r = c.post(reverse("password_reset"), {"email": "rep1@a.test"})
    assert r.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/password/reset/\S+/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    r = c.get(path, follow=True)
    assert r.status_code == 200
    r = c.post(r.redirect_chain[-1][0], {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"})
    assert r.status_code == 302
    assert User.objects.get(pk=world_a.rep1.pk).check_password("Brand-new-pass-42")


@pytest.mark.django_db
def test_password_change(world_a, client_for):
    c = client_for(world_a.rep1)
    r = c.post(
        reverse("password_change"),
        {"old_password": "pw-123456", "new_password1": "Another-pass-77", "new_password2": "Another-pass-77"},
    )
    assert r.status_code == 302
    assert User.objects.get(pk=world_a.rep1.pk).check_password("Another-pass-77")


@pytest.mark.django_db
def test_language_precedence_user_then_tenant_then_browser(world_a, client_for):
    world_a.tenant.language = "zh-hans"
    world_a.tenant.save()
    c = client_for(world_a.rep1)
    r = c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert r.headers["Content-Language"] == "zh-hans"  # tenant beats the browser
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert User.objects.get(pk=world_a.rep1.pk).language == "en"  # remembered per user
    r = c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.headers["Content-Language"] == "en"  # the user's own setting wins
    # Anonymous visitors get the browser's language.
    r = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert b'lang="zh-hans"' in r.content


@pytest.mark.django_db
def test_set_language_refuses_offsite_redirect(world_a, client_for):
    r = client_for(world_a.rep1).post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert r["Location"] == "/"


@pytest.mark.django_db
def test_expired_session_htmx_request_gets_hx_redirect():
    r = Client().get(reverse("notifications"), HTTP_HX_REQUEST="true")
    assert r.status_code == 204
    assert r["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.django_db
def test_tenant_time_zone_is_active_for_its_users(world_a, client_for):
    world_a.tenant.timezone = "America/New_York"
    world_a.tenant.save()
    r = client_for(world_a.admin).get(reverse("home"))
    assert r.context["TIME_ZONE"] == "America/New_York"
