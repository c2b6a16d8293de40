"""A pool's early warning comes before its shortest rule, its levels' own rules included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import CustomerLevel, Pool
from customers.services.tenant import tenant_defaults

pytestmark = pytest.mark.django_db


def test_warning_further_ahead_than_a_level_rule_is_refused(world_a, client_for):
    tenant_defaults(tenant=world_a.tenant)
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    data = {
        "name": "预警公海",
        "teams": [world_a.team1.pk],
        "no_followup_days": "",
        "warn_days_before": "99",
        "extension_days": "7",
        "reclaim_cooldown_days": "7",
        "max_claims_per_day": "5",
        "daily_view_limit": "20",
        f"level_{level_a.pk}_followup": "30",
    }
    c = client_for(world_a.admin)
    r = c.post(reverse("pool_settings:create"), data)
    assert r.status_code == 422
    assert "Warn fewer days ahead than the shortest rule gives (30 days" in r.content.decode()
    assert not Pool.objects.filter(name="预警公海").exists()
    r = c.post(reverse("pool_settings:create"), {**data, "warn_days_before": "5"})
    assert r.status_code == 302
