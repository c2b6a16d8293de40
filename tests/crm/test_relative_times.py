"""Times read naturally in the reader's language ("5 minutes ago", "5分钟之前") with the absolute local time in the
title, alike in the notification bell, the notification list and the home widget."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from ..factories import NotificationFactory


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "ago"), [("en", "5 minutes ago"), ("zh-hans", "5分钟之前")])
def test_bell_and_list_say_how_long_ago(world_a, client_for, language, ago):
    world_a.rep1.language = language
    world_a.rep1.save(update_fields=["language"])
    NotificationFactory(
        recipient=world_a.rep1, title="客户回访提醒", created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    c = client_for(world_a.rep1)
    for url in (reverse("notification_bell"), reverse("notifications")):
        html = c.get(url).content.decode()
        found = re.search(r'<time datetime="[^"]+" title="([^"]+)">([^<]+)</time>', html)
        assert found is not None, url
        title, text = found.groups()
        assert text.replace("\xa0", " ") == ago
        # The title is the absolute time in the company's zone (Asia/Shanghai: UTC+8).
        local = (timezone.now() - dt.timedelta(minutes=5)).astimezone(world_a.tenant.tzinfo)
        assert f"{local:%H}" in title or f"{local.hour % 12 or 12}:" in title
