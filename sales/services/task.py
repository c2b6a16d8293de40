"""Writes of tasks: create, edit, done and reopened; the assignee is told."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_user
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import Customer
from sales.access import check_assignee, check_customer, require_task_access
from sales.models import (
    FollowUp,
    Task,
)
from sales.services.activity import format_local, notify_in_app, required_text, this_minute

# A task due further ahead than this is a mistyped year (2099), not a plan: refused with a question.
MAX_YEARS_AHEAD = 2


def _check_schedule(
    *, due_at: datetime, remind_at: datetime | None, remind_changed: bool, due_changed: bool = True
) -> None:
    if due_at is None:
        raise DomainError(_("Enter when the task is due."), field="due_at")
    if due_changed and due_at > this_minute() + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise DomainError(
            _("Due more than %(years)d years ahead: is the year right? Choose a nearer date.")
            % {"years": MAX_YEARS_AHEAD},
            field="due_at",
        )
    if remind_at is None:
        return
    if remind_changed and remind_at < this_minute():
        raise DomainError(_("The reminder time is in the past; choose a later time."), field="remind_at")
    if remind_at > due_at:
        raise DomainError(_("The reminder must not be later than the due time."), field="remind_at")


def _notify_assigned(task: Task, acting_user: User) -> None:
    if task.assignee_id == acting_user.pk:
        return
    notify_in_app(
        recipient=task.assignee,
        key=f"task-assigned:{task.pk}:{task.assignee_id}",
        url=reverse("sales:task_detail", args=[task.pk]),
        title_fn=lambda: (
            _("%(name)s gave you a task: %(title)s") % {"name": acting_user.full_name, "title": task.title}
        ),
        body_fn=lambda: _("Due %(due)s.") % {"due": format_local(task.due_at, task.assignee.tenant)},
    )


def task_create(
    *,
    acting_user: User,
    title: str,
    due_at: datetime,
    remind_at: datetime | None = None,
    assignee: User | None = None,
    customer: Customer | None = None,
    notes: str = "",
    follow_up: FollowUp | None = None,
) -> Task:
    """A new task for the acting user (or, for managers and admins, someone of their teams)."""
    require_tenant_user(acting_user)
    assignee = assignee or acting_user
    title = required_text(title, "title", _("Give the task a title."))
    check_assignee(acting_user, assignee)
    check_customer(acting_user, customer)
    _check_schedule(due_at=due_at, remind_at=remind_at, remind_changed=True)
    with transaction.atomic():
        task = Task.objects.create(
            tenant_id=acting_user.tenant_id,
            title=title[:200],
            notes=notes or "",
            assignee=assignee,
            customer=customer,
            follow_up=follow_up,
            due_at=due_at,
            remind_at=remind_at,
            created_by=acting_user,
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="task.create",
            obj=task,
            details={
                "assignee": assignee.pk,
                "customer": customer.pk if customer else None,
                "due_at": due_at.isoformat(),
                "remind_at": remind_at.isoformat() if remind_at else None,
            },
        )
        _notify_assigned(task, acting_user)
    return task


def task_update(
    *,
    acting_user: User,
    task: Task,
    title: str,
    due_at: datetime,
    remind_at: datetime | None,
    assignee: User,
    customer: Customer | None,
    notes: str = "",
) -> Task:
    """Change a task. A new reminder time re-arms the reminder (and must not be in the past)."""
    require_tenant_user(acting_user)
    require_task_access(acting_user, task)
    title = required_text(title, "title", _("Give the task a title."))
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        remind_changed = remind_at != task.remind_at
        if assignee.pk != task.assignee_id:
            check_assignee(acting_user, assignee)
        if (customer.pk if customer else None) != task.customer_id:
            # An unchanged link stays even if the customer was since transferred; a new one must be visible.
            check_customer(acting_user, customer)
        _check_schedule(
            due_at=due_at, remind_at=remind_at, remind_changed=remind_changed, due_changed=due_at != task.due_at
        )
        before = _task_snapshot(task)
        new_assignee = assignee.pk != task.assignee_id
        task.title, task.due_at, task.remind_at, task.assignee, task.customer, task.notes = (
            title[:200],
            due_at,
            remind_at,
            assignee,
            customer,
            notes or "",
        )
        if remind_changed:
            task.reminder_sent_at = None
        task.save()
        after = _task_snapshot(task)
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changes:
            audit(tenant=acting_user.tenant, actor=acting_user, action="task.update", obj=task, details=changes)
        if new_assignee:
            _notify_assigned(task, acting_user)
    return task


def _task_snapshot(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "remind_at": task.remind_at.isoformat() if task.remind_at else None,
        "assignee": task.assignee_id,
        "customer": task.customer_id,
        "notes": task.notes,
    }


def task_set_done(*, acting_user: User, task: Task, done: bool) -> Task:
    """Mark done or reopen. A conditional UPDATE: clicking twice, or two people at once, changes it once."""
    require_tenant_user(acting_user)
    require_task_access(acting_user, task)
    with transaction.atomic():
        if done:
            changed = Task.objects.filter(pk=task.pk, done_at__isnull=True).update(
                done_at=timezone.now(), done_by=acting_user, updated_at=timezone.now()
            )
        else:
            changed = Task.objects.filter(pk=task.pk, done_at__isnull=False).update(
                done_at=None, done_by=None, updated_at=timezone.now()
            )
        task.refresh_from_db()
        if changed:
            audit(tenant=acting_user.tenant, actor=acting_user, action="task.done" if done else "task.reopen", obj=task)
    return task
