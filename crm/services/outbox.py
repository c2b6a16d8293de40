"""The one way to queue a Celery task: `enqueue(tasks.deliver_message, tenant_id, message_id)`.

A call becomes an OutboxTask row in the caller's transaction (so a rolled-back write queues nothing, and a
committed one loses nothing) and is sent to the broker right after commit. When Redis is down the send fails fast
(no publish retries), the row stays, and the page or job that asked carries on: the relay — `outbox_relay()`, run
by beat every minute and after each commit — sends the waiting rows in order once Redis answers again. Each row
is claimed under a row lock (SKIP LOCKED) and marked sent in the same transaction, so two relays never send one
row twice; tasks are idempotent besides, for the rare send whose commit is lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from crm.celery import app
from crm.models import OutboxTask

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
KEEP_SENT = timedelta(days=7)


def enqueue(task: Task, *args) -> OutboxTask:
    """Queue `task(*args)` (ids and plain values only) after the current transaction commits."""
    row = OutboxTask.objects.create(task=task.name, args=list(args))
    transaction.on_commit(lambda: relay_one(row.pk))
    return row


def _send(row: OutboxTask) -> bool:
    try:
        app.tasks[row.task].apply_async(args=row.args, retry=False)
    except (OperationalError, RedisError, OSError) as exc:  # the broker is unreachable
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        row.save(update_fields=["attempts", "last_error"])
        logger.warning("Outbox: %s not sent yet (%s); it waits for the broker", row, row.last_error)
        return False
    row.sent_at = timezone.now()
    row.save(update_fields=["sent_at"])
    return True


def relay_one(pk: int) -> bool:
    """Send one waiting row (after its transaction committed); False when it was not sent now."""
    with transaction.atomic():
        row = OutboxTask.objects.select_for_update(skip_locked=True).filter(pk=pk, sent_at__isnull=True).first()
        return row is not None and _send(row)


def outbox_relay(limit: int = RELAY_BATCH) -> int:
    """Send waiting rows, oldest first, until the broker refuses one; returns how many were sent. Rows sent a week
    ago are removed."""
    sent = 0
    while sent < limit:
        with transaction.atomic():
            row = (
                OutboxTask.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True)
                .order_by("created_at", "pk")
                .first()
            )
            if row is None or not _send(row):
                break
        sent += 1
    OutboxTask.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    return sent
