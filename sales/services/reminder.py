"""Task reminders: due reminders become one in-app notification and one email each, marked sent in the same
transaction (idempotent, concurrent runs skip each other's rows)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.services.notification import notify
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


def _send_reminder(task: Task) -> None:
    recipient = task.assignee
    tenant = task.tenant
    with translation.override(recipient.effective_language):
        title = _("Reminder: %(title)s") % {"title": task.title}
        body = _("Due %(due)s.") % {"due": format_local(task.due_at, tenant)}
        if task.customer is not None:
            body = f"{body} " + _("Customer: %(name)s") % {"name": task.customer.name}
        if task.notes:
            body = f"{body}\n\n{task.notes}"
    notify(
        recipient=recipient,
        title=title,
        body=body,
        url=reverse("sales:task_detail", args=[task.pk]),
        key=reminder_key(task),
        email=True,
    )


def reminders_send_due(*, tenant_id: int, now: datetime | None = None) -> int:
    """Send one tenant's due reminders: each yields exactly one in-app notification and one email.

    Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, marked sent and notified in the same transaction, so two
    workers at once share the work without doubles, and a rerun finds nothing. The notification and the email row
    are written under the reminder's unique key (crm.services.notification.notify); the email is delivered after commit.
    """
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Task.objects.filter(tenant_id=tenant_id, tenant__is_active=True)
                .pending_reminders(now)
                .select_related("assignee", "assignee__tenant", "customer", "tenant")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("remind_at", "pk")[:REMINDER_BATCH]
            )
            if not batch:
                break
            Task.objects.filter(pk__in=[t.pk for t in batch]).update(reminder_sent_at=now)
            for task in batch:
                _send_reminder(task)
        sent += len(batch)
        if len(batch) < REMINDER_BATCH:
            break
    return sent
