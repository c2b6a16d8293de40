"""Sign-up: generic answers (nothing tells whether an email has an account), the company usable only once its
email is verified through a signed link, unverified companies purged after SIGNUP_VERIFY_DAYS, a rate limit per
client address, and the operator's switch."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEvent, OutboundMessage, Tenant, User
from crm.services.tenant import tenant_create, tenant_purge_unverified
from crm.tasks import purge_unverified_signups
from customers.models import Pool
from tests.conftest import wait_for

pytestmark = pytest.mark.usefixtures("redis_test_db")


def form(**extra):
    return {
        "company": "杭州云帆科技",
        "slug": "yunfan",
        "full_name": "陈总",
        "admin_email": "chen@yunfan.test",
        "password": "Quite-long-pass-9",
        "language": "en",
        **extra,
    }


def sign_up(client=None, ip="198.51.100.1", **extra):
    client = client or Client()
    return client.post(reverse("signup"), form(**extra), REMOTE_ADDR=ip)


def sent_to(address: str) -> list[str]:
    """The bodies of the emails written for `address` (outgoing messages are rows first, delivered by a task)."""
    return list(OutboundMessage.objects.filter(to_address=address).order_by("pk").values_list("body", flat=True))


def verify_link(to: str) -> str:
    bodies = sent_to(to)
    assert bodies, f"no email to {to}"
    return re.search(r"http://testserver(/signup/verify/\S+/)", bodies[-1]).group(1)


def log_in(email="chen@yunfan.test", password="Quite-long-pass-9"):
    client = Client()
    response = client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR="198.51.100.9")
    return client, response


@pytest.mark.django_db
def test_the_company_is_usable_only_after_the_email_is_verified(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up()
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    tenant = Tenant.objects.get(slug="yunfan")
    assert not tenant.is_active and tenant.awaiting_verification
    # Not logged in by the sign-up, and cannot log in yet.
    assert Client().get(reverse("home")).status_code == 302
    client, response = log_in()
    assert response.status_code == 200 and client.get(reverse("home")).status_code == 302

    link = verify_link("chen@yunfan.test")
    response = Client().get(link)
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.is_active and not tenant.awaiting_verification
    client, response = log_in()
    assert response.status_code == 302 and client.get(reverse("settings:users")).status_code == 200
    # The link works once; again it changes nothing and says so.
    assert Client().get(link, follow=True).status_code == 200


@pytest.mark.django_db
def test_a_forged_or_expired_link_verifies_nothing(django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    link = verify_link("chen@yunfan.test")
    assert Client().get(link[:-3] + "xx/").status_code == 400
    settings.SIGNUP_VERIFY_DAYS = 0
    assert Client().get(link).status_code == 400
    assert Tenant.objects.get(slug="yunfan").awaiting_verification


@pytest.mark.django_db
def test_an_existing_email_gets_the_same_answer_and_a_notice(world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fresh = sign_up(admin_email="new@yunfan.test", slug="fresh-co").content.decode()
        taken = sign_up(admin_email="REP1@a.test", slug="other-co", ip="198.51.100.2").content.decode()

    def answer(body):
        return re.sub(r"\S+@\S+\.test", "EMAIL", body.split('id="signup-sent"')[1].split("</section>")[0])

    assert answer(fresh) == answer(taken)
    assert "already" not in taken
    assert not Tenant.objects.filter(slug="other-co").exists()
    # The address's owner learns that someone tried; nothing else happens.
    notice = sent_to("rep1@a.test")
    assert len(notice) == 1 and "/signup/verify/" not in notice[0]


@pytest.mark.django_db
def test_a_pending_sign_up_does_not_squat_the_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(slug="squatter", company="抢注公司")
        sign_up(slug="real-owner", company="真正的公司", ip="198.51.100.3")
    assert not Tenant.objects.filter(slug="squatter").exists()
    Client().get(verify_link("chen@yunfan.test"))
    assert User.objects.get(email="chen@yunfan.test").tenant.slug == "real-owner"


@pytest.mark.django_db
def test_unverified_companies_are_purged_after_the_window(world_a, settings, django_capture_on_commit_callbacks):
    settings.SIGNUP_VERIFY_DAYS = 3
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    pending = Tenant.objects.get(slug="yunfan")
    assert Pool.objects.filter(tenant=pending).exists()
    assert tenant_purge_unverified(now=timezone.now() + dt.timedelta(days=2)) == 0
    assert tenant_purge_unverified(now=timezone.now() + dt.timedelta(days=4)) == 1
    assert not Tenant.objects.filter(slug="yunfan").exists()
    assert not User.objects.filter(email="chen@yunfan.test").exists()
    assert not AuditEvent.objects.filter(tenant_id=pending.pk).exists()
    # Verified companies stay; running the purge again changes nothing.
    assert tenant_purge_unverified(now=timezone.now() + dt.timedelta(days=400)) == 0
    assert Tenant.objects.filter(pk=world_a.tenant.pk).exists()


@pytest.mark.django_db
def test_sign_up_is_rate_limited_per_address(settings, django_capture_on_commit_callbacks):
    settings.SIGNUP_RATE = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [sign_up(slug=f"co-{i}", admin_email=f"x{i}@co.test").status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    assert Tenant.objects.count() == 2
    assert sign_up(slug="co-9", admin_email="x9@co.test", ip="198.51.100.200").status_code == 200


@pytest.mark.django_db
def test_the_operators_switch_closes_sign_up_and_its_links(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    link = verify_link("chen@yunfan.test")
    settings.SIGNUP_ENABLED = False
    assert Client().get(reverse("signup")).status_code == 404
    assert sign_up(slug="closed-co", admin_email="c@closed.test").status_code == 404
    assert Client().get(link).status_code == 404
    assert not Tenant.objects.filter(slug="closed-co").exists()


@pytest.mark.django_db(transaction=True)
def test_the_purge_job_runs_through_a_worker(settings, celery_worker):
    settings.SIGNUP_VERIFY_DAYS = 3
    pending = tenant_create(
        name="过期公司", slug="stale-co", admin_email="stale@co.test", admin_password="x-Long-pass-1", pending=True
    )
    Tenant.objects.filter(pk=pending.pk).update(created_at=timezone.now() - dt.timedelta(days=4))
    purge_unverified_signups.delay()
    assert wait_for(lambda: not Tenant.objects.filter(pk=pending.pk).exists())
