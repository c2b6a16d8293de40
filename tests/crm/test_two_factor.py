"""Two-factor login: set-up with a QR code and recovery codes, the code step after the password, its lockout, the
tenant's requirement for admins and the operators' one."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.models import AuditEvent, User

from ..conftest import two_factor_login

PASSWORD = "pw-123456"


@pytest.fixture(autouse=True)
def english_company(world_a):
    # The messages below are asserted in English.
    world_a.tenant.language = "en"
    world_a.tenant.save()


def current_code(device: TOTPDevice, later: int = 0) -> str:
    """The app's code now, or `later` steps ahead (a code is accepted once: the next use needs the next step, which
    the device's tolerance of one step accepts)."""
    generator = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    generator.time = time.time() + later * device.step
    return f"{generator.token():06d}"


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    page = client.post(reverse("two_factor"), {"action": "start"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html and "style=" not in html
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("two_factor"), {"action": "confirm", "token": current_code(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li class=\"list-group-item\">([0-9a-f]{6}-[0-9a-f]{6})</li>", response.content.decode())
    return TOTPDevice.objects.get(pk=device.pk), codes


def password_step(client, email, ip="10.0.0.5"):
    return client.post(reverse("login"), {"username": email, "password": PASSWORD}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_set_up_shows_a_qr_code_and_recovery_codes_once(world_a, client_for):
    c = client_for(world_a.rep1)
    wrong = c.post(reverse("two_factor"), {"action": "start"})
    assert wrong.status_code == 200
    refused = c.post(reverse("two_factor"), {"action": "confirm", "token": "000000"})
    assert refused.status_code == 422 and "That code is not right" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=world_a.rep1, confirmed=True).exists()

    device, codes = enrol(c, world_a.rep1)
    assert device.confirmed and len(codes) == 10
    assert StaticToken.objects.filter(device__user=world_a.rep1).count() == 10
    assert AuditEvent.objects.filter(actor=world_a.rep1, action="user.two_factor_on").count() == 1
    # Shown once: the page afterwards says how many are left, never the codes.
    page = c.get(reverse("two_factor")).content.decode()
    assert "10 recovery codes left" in page and codes[0] not in page


@pytest.mark.django_db
def test_login_asks_for_the_code_after_the_password(world_a, client_for):
    device, codes = enrol(client_for(world_a.rep1), world_a.rep1)
    c = Client()
    response = password_step(c, "rep1@a.test")
    assert response.status_code == 302 and response["Location"] == reverse("login_verify")
    # Not logged in between the two steps.
    assert c.get(reverse("home")).status_code == 302
    response = c.post(reverse("login_verify"), {"token": current_code(device, later=1)}, REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert c.get(reverse("home")).status_code == 200

    # A recovery code works once.
    other = Client()
    password_step(other, "rep1@a.test")
    assert other.post(reverse("login_verify"), {"token": codes[0]}).status_code == 302
    again = Client()
    password_step(again, "rep1@a.test")
    assert again.post(reverse("login_verify"), {"token": codes[0]}).status_code == 422


@pytest.mark.django_db
def test_code_step_needs_the_password_step(world_a):
    response = Client().post(reverse("login_verify"), {"token": "123456"})
    assert response.status_code == 302 and response["Location"] == reverse("login")


@pytest.mark.django_db
def test_code_guesses_lock_out_like_password_guesses(world_a, client_for, settings):
    settings.AXES_FAILURE_LIMIT = 3
    device, _codes = enrol(client_for(world_a.rep1), world_a.rep1)
    c = Client()
    password_step(c, "rep1@a.test", ip="203.0.113.7")
    statuses = [
        c.post(reverse("login_verify"), {"token": "000001"}, REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)
    ]
    assert statuses == [422, 422, 429]
    # Locked: the password step is refused from that address, even with the right password.
    assert password_step(Client(), "rep1@a.test", ip="203.0.113.7").status_code == 429
    # Another address still logs in with password and code.
    fresh = Client()
    assert password_step(fresh, "rep1@a.test", ip="198.51.100.9").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    ok = fresh.post(reverse("login_verify"), {"token": current_code(device, later=1)}, REMOTE_ADDR="198.51.100.9")
    assert ok.status_code == 302


@pytest.mark.django_db
def test_tenant_can_require_two_factor_for_its_admins(world_a, client_for):
    admin = client_for(world_a.admin)
    form = admin.get(reverse("settings:tenant")).content.decode()
    assert "require_admin_two_factor" in form
    data = {
        "name": world_a.tenant.name,
        "timezone": world_a.tenant.timezone,
        "language": world_a.tenant.language,
        "currency": world_a.tenant.currency,
        "phone_region": world_a.tenant.phone_region,
        "require_admin_two_factor": "on",
    }
    assert admin.post(reverse("settings:tenant"), data).status_code == 302
    # The admin (no authenticator yet) is sent to set one up before any other page; htmx gets HX-Redirect.
    response = admin.get(reverse("customers:list"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    assert admin.get(reverse("customers:list"), HTTP_HX_REQUEST="true")["HX-Redirect"] == reverse("two_factor")
    assert "two-factor-required" in admin.get(reverse("two_factor")).content.decode()
    device, _codes = enrol(admin, world_a.admin)
    assert admin.get(reverse("customers:list")).status_code == 200
    # Required: it cannot be turned off.
    refused = admin.post(reverse("two_factor"), {"action": "disable", "token": current_code(device, later=1)})
    assert refused.status_code == 422 and TOTPDevice.objects.filter(user=world_a.admin).exists()
    # Reps are not concerned.
    assert client_for(world_a.rep1).get(reverse("customers:list")).status_code == 200


@pytest.mark.django_db
def test_rep_may_turn_it_off_with_a_code(world_a, client_for):
    c = client_for(world_a.rep1)
    device, _codes = enrol(c, world_a.rep1)
    assert c.post(reverse("two_factor"), {"action": "disable", "token": "999999"}).status_code == 422
    device.throttling_failure_count = 0
    device.save()
    response = c.post(reverse("two_factor"), {"action": "disable", "token": current_code(device, later=1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world_a.rep1).exists()
    assert not StaticToken.objects.filter(device__user=world_a.rep1).exists()


@pytest.mark.django_db
def test_operators_always_need_two_factor(db):
    operator = User.objects.create_superuser(email="ops@example.test", password=PASSWORD, full_name="Ops")
    c = Client()
    c.force_login(operator)
    response = c.get("/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    device, _codes = enrol(c, operator)
    assert c.get("/admin/").status_code == 200

    # Logging in again goes through the code step, and the admin's own login page leads to it.
    fresh = Client()
    assert fresh.get("/admin/login/?next=/admin/")["Location"].startswith(reverse("login"))
    assert password_step(fresh, "ops@example.test")["Location"] == reverse("login_verify")
    assert fresh.get("/admin/").status_code == 302
    verified = Client()
    two_factor_login(verified, operator)
    assert verified.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_code_makes_the_next_try_wait(world_a, client_for):
    device, _codes = enrol(client_for(world_a.rep1), world_a.rep1)
    c = Client()
    password_step(c, "rep1@a.test")
    assert c.post(reverse("login_verify"), {"token": "000001"}).status_code == 422
    # Right away, even the right code is not tried: both devices wait after their failure.
    response = c.post(reverse("login_verify"), {"token": current_code(device, later=1)})
    assert response.status_code == 422 and "Too many wrong codes in a row: wait" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
