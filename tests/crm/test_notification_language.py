"""Notifications are shown in the language the reader has when reading them, not the one they had when it was
written; notifications kept without their message show their stored text."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.models import Notification
from crm.services.notification import lazy_format, notify


@pytest.mark.django_db
def test_a_notification_follows_the_readers_language(world_a, client_for):
    rep = world_a.rep1
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    notify(
        recipient=rep,
        title=lazy_format(
            ngettext_lazy(
                "%(count)d pool customer was assigned to you", "%(count)d pool customers were assigned to you", 3
            ),
            count=3,
        ),
        body=lazy_format(gettext_lazy("%(name)s gave you %(count)s leads"), name="王强", count=2),
        email=False,
    )
    stored = Notification.objects.get(recipient=rep)
    assert "3" in stored.title and "assigned to you" not in stored.title  # written in Chinese

    rep.language = "en"
    rep.save(update_fields=["language"])
    body = client_for(rep).get(reverse("notifications")).content.decode()
    assert "3 pool customers were assigned to you" in body
    assert "王强 gave you 2 leads" in body


@pytest.mark.django_db
def test_old_rows_and_plain_text_keep_their_text(world_a, client_for):
    rep = world_a.rep1
    rep.language = "en"
    rep.save(update_fields=["language"])
    notify(recipient=rep, title="客户张三的合同已上传", email=False)
    Notification.objects.create(tenant=world_a.tenant, recipient=rep, title="旧的通知", body="")
    body = client_for(rep).get(reverse("notifications")).content.decode()
    assert "客户张三的合同已上传" in body and "旧的通知" in body
