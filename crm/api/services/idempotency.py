"""The kept answers of `Idempotency-Key` requests: a client retries within minutes or hours, so a key older than
IDEMPOTENCY_KEY_DAYS is removed by the daily job and the same key may then create again."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from crm.api.models import IdempotencyKey

IDEMPOTENCY_KEY_DAYS = 7


def expired_keys(now: datetime | None = None) -> QuerySet[IdempotencyKey]:
    """Keys kept longer than IDEMPOTENCY_KEY_DAYS (every tenant's: callers filter to one)."""
    cutoff = (now or timezone.now()) - timedelta(days=IDEMPOTENCY_KEY_DAYS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff)


def idempotency_keys_purge(*, tenant_id: int, now: datetime | None = None) -> int:
    """Delete one tenant's expired keys; one DELETE, so running twice or at once deletes each key once."""
    deleted, _per_model = expired_keys(now).filter(tenant_id=tenant_id).delete()
    return deleted
