"""The company's time-zone picker: named zones in the reader's language, the common ones first, only zones zoneinfo
knows accepted."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from crm.forms import TenantSettingsForm
from crm.timezones import timezone_choices, timezone_label


def test_labels_name_the_zone_with_its_offset_in_the_readers_language():
    with translation.override("zh-hans"):
        assert timezone_label("Asia/Shanghai") == "(UTC+08:00) 中国标准时间 — Asia/Shanghai"
        (common_title, common), (_all_title, others) = timezone_choices()
        assert str(common_title) == "常用时区" and common[0][0] == "Asia/Shanghai"
    with translation.override("en"):
        assert timezone_label("Asia/Kolkata") == "(UTC+05:30) India Standard Time — Asia/Kolkata"
        assert timezone_label("Asia/Urumqi") == "(UTC+06:00) Asia/Urumqi"
    names = [name for name, _label in others]
    assert "Asia/Shanghai" not in names and "America/Sao_Paulo" in names
    assert len(names) == len(set(names)) > 300


@pytest.mark.django_db
def test_the_settings_page_offers_named_zones_and_refuses_unknown_ones(world_a, client_for):
    world_a.admin.language = "zh-hans"
    world_a.admin.save(update_fields=["language"])
    c = client_for(world_a.admin)
    page = c.get(reverse("settings:tenant")).content.decode()
    assert '<option value="Asia/Shanghai" selected>(UTC+08:00) 中国标准时间 — Asia/Shanghai</option>' in page
    form = TenantSettingsForm(instance=world_a.tenant)
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data = {k: v for k, v in data.items() if v not in (None, False)}
    bad = TenantSettingsForm({**data, "timezone": "Mars/Olympus"}, instance=world_a.tenant)
    assert not bad.is_valid() and "timezone" in bad.errors
    good = TenantSettingsForm({**data, "timezone": "Europe/Berlin"}, instance=world_a.tenant)
    assert good.is_valid(), good.errors
    good.save()
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.timezone == "Europe/Berlin"
