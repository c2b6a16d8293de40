"""Task reminders: due reminders become one in-app notification and one email each, marked sent in the same
transaction (idempotent, concurrent runs skip each other's rows), set-based: a constant number of statements per
batch of REMINDER_BATCH, however many are due."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.services.notification import Note, notify_many
from crm.tenancy import tenants_having
from sales.models import (
    Task,
)
from sales.services.activity import format_local

REMINDER_BATCH = 100


def tenants_with_due_reminders(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return tenants_having(lambda: Task.objects.pending_reminders(now))


def reminder_key(task: Task) -> str:
    return f"reminder:{task.pk}:{task.remind_at.isoformat()}"


def _reminder_note(task: Task) -> Note:
    recipient = task.assignee
    tenant = task.tenant
    with translation.override(recipient.effective_language):
        title = _("Reminder: %(title)s") % {"title": task.title}
        body = _("Due %(due)s.") % {"due": format_local(task.due_at, tenant)}
        if task.customer is not None:
            body = f"{body} " + _("Customer: %(name)s") % {"name": task.customer.name}
        if task.notes:
            body = f"{body}\n\n{task.notes}"
    return Note(
        recipient=recipient,
        title=title,
        body=body,
        url=reverse("sales:task_detail", args=[task.pk]),
        key=reminder_key(task),
        email=True,
    )


def _claim(*, tenant_id: int, now: datetime) -> list[int]:
    """Mark up to REMINDER_BATCH due reminders sent and return their tasks' ids, in one statement:
    UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING id. A concurrent run skips the rows
    this one holds and claims others; a row claimed is no longer pending, so nothing is claimed twice."""
    due = (
        Task.objects.filter(tenant_id=tenant_id, tenant__is_active=True)
        .pending_reminders(now)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("remind_at", "pk")
        .values("pk")[:REMINDER_BATCH]
    )
    select, params = due.query.sql_with_params()
    table = connection.ops.quote_name(Task._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET reminder_sent_at = %s WHERE id IN ({select}) RETURNING id",  # noqa: S608
            [now, *params],
        )
        return [row[0] for row in cursor.fetchall()]


def reminders_send_due(*, tenant_id: int, now: datetime | None = None) -> int:
    """Send one tenant's due reminders: each yields exactly one in-app notification and one email.

    Per batch, in one transaction: the claim (one UPDATE … RETURNING over SELECT … FOR UPDATE SKIP LOCKED), one read
    of the claimed tasks with their assignees and customers, and crm.services.notification.notify_many (one read of
    the keys already notified, one INSERT of the notifications, one of the emails, one outbox row per delivery
    batch). Two workers at once share the work without doubles, and a rerun finds nothing; the notifications and
    emails are written under the reminder's unique key, the emails delivered after commit.
    """
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            claimed = _claim(tenant_id=tenant_id, now=now)
            if not claimed:
                break
            tasks = (
                Task.objects.filter(tenant_id=tenant_id, pk__in=claimed)
                .select_related("assignee", "assignee__tenant", "customer", "tenant")
                .order_by("remind_at", "pk")
            )
            notify_many(tenant_id=tenant_id, notes=[_reminder_note(task) for task in tasks])
        sent += len(claimed)
        if len(claimed) < REMINDER_BATCH:
            break
    return sent
