import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from crm.models import Tenant, User


@pytest.mark.django_db
def test_signup_errors_save_nothing(world_a, redis_test_db):
    r = Client().post(
        reverse("signup"),
        {
            "company": "X",
            "slug": world_a.tenant.slug,
            "full_name": "X",
            "admin_email": "rep1@a.test",
            "password": "123",
        },
    )
    assert r.status_code == 422
    errors = r.context["form"].errors
    # The taken short name and the weak password are said; whether the email has an account is not.
    assert {"slug", "password"} <= set(errors) and "admin_email" not in errors
    assert Tenant.objects.count() == 1


@pytest.mark.django_db
def test_signup_can_be_switched_off(settings):
    settings.SIGNUP_ENABLED = False
    assert Client().get(reverse("signup")).status_code == 404


@pytest.mark.django_db
def test_create_tenant_command(capsys):
    call_command("create_tenant", "--name", "运营公司", "--slug", "ops-co", "--admin-email", "ops@co.test")
    out = capsys.readouterr().out
    assert "Generated password" in out
    assert User.objects.get(email="ops@co.test").tenant.slug == "ops-co"


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (Tenant.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (Tenant.objects.count(), User.objects.count()) == counts
    assert User.objects.get(email="rep3@demo.local").team.name == "华北组"
    assert User.objects.get(email="manager@demo.local").managed_teams.exists()
