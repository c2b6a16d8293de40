"""A user's phone is validated and stored as a customer's phone is (E.164); a bad one is a form error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.errors import DomainError
from crm.models import User
from crm.services.user import user_update

pytestmark = pytest.mark.django_db


def test_a_bad_phone_is_refused_on_the_user_form(world_a, client_for):
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    c = client_for(world_a.admin)
    data = {"email": "phone@a.test", "full_name": "电话", "roles": ["rep"], "phone": "139-1234"}
    r = c.post(reverse("settings:user_create"), data)
    assert r.status_code in (200, 422) and "phone" in r.context["form"].errors
    assert "is not a valid phone number" in r.context["form"].errors["phone"][0]
    assert not User.objects.filter(email="phone@a.test").exists()
    r = c.post(reverse("settings:user_create"), {**data, "phone": "138 1234 5678"})
    assert r.status_code == 302
    assert User.objects.get(email="phone@a.test").phone == "+8613812345678"


def test_the_service_refuses_a_bad_phone_on_update(world_a):
    with pytest.raises(DomainError) as refused:
        user_update(
            acting_user=world_a.admin, user=world_a.rep1, full_name="X", roles=["rep"], team=None, phone="12345"
        )
    assert refused.value.field == "phone"
    world_a.rep1.refresh_from_db()
    assert world_a.rep1.full_name != "X"
