"""Old Idempotency-Key answers are removed daily, per tenant; the same key then creates again."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.utils import timezone

from crm.api import tasks
from crm.api.models import IdempotencyKey
from crm.api.services.idempotency import IDEMPOTENCY_KEY_DAYS
from crm.celery import app


def key(user, name, age_days):
    row = IdempotencyKey.objects.create(
        tenant_id=user.tenant_id, user=user, key=name, path="/api/v1/x/", request_hash="0"
    )
    IdempotencyKey.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return row


@pytest.mark.django_db
def test_purge_removes_old_keys_of_one_tenant_once(world_a, world_b):
    old = key(world_a.rep1, "old", IDEMPOTENCY_KEY_DAYS + 1)
    fresh = key(world_a.rep1, "fresh", IDEMPOTENCY_KEY_DAYS - 1)
    theirs = key(world_b.rep1, "old", IDEMPOTENCY_KEY_DAYS + 1)
    assert tasks.purge_tenant_idempotency_keys(world_a.tenant.pk) == 1
    assert tasks.purge_tenant_idempotency_keys(world_a.tenant.pk) == 0  # twice: nothing more
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()
    assert set(IdempotencyKey.objects.values_list("pk", flat=True)) == {fresh.pk, theirs.pk}


@pytest.mark.django_db
def test_dispatcher_queues_tenants_with_old_keys(world_a, world_b, monkeypatch, django_capture_on_commit_callbacks):
    key(world_a.rep1, "old", IDEMPOTENCY_KEY_DAYS + 2)
    key(world_b.rep1, "fresh", 0)
    sent = []
    monkeypatch.setattr(
        tasks.purge_tenant_idempotency_keys, "apply_async", lambda args, **options: sent.append(args[0])
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.purge_idempotency_keys() == 1
    assert sent == [world_a.tenant.pk]


@pytest.mark.django_db
def test_a_purged_key_creates_again(world_a, api_client):
    rep1, _token = api_client(world_a.rep1)
    body = {"name": "一次客户有限公司"}
    first = rep1.post("/api/v1/customers/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=IDEMPOTENCY_KEY_DAYS + 1))
    tasks.purge_tenant_idempotency_keys(world_a.tenant.pk)
    again = rep1.post(
        "/api/v1/customers/",
        body | {"name": "二次客户有限公司"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]


def test_beat_runs_the_purge_daily():
    entry = app.conf.beat_schedule["api-purge-idempotency-keys"]
    assert entry["task"] == "crm.api.tasks.purge_idempotency_keys"
    assert entry["schedule"] == crontab(hour=4, minute=25)
    assert "crm.api.tasks.purge_tenant_idempotency_keys" in app.tasks
