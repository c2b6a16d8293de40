"""Reads of tasks that combine more than one filter: the counts on the task list and the home widget."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from crm.models import User
from crm.workcalendar.selectors import local_day_bounds, local_today
from sales.models import Task


def task_counts(user: User, tenant) -> dict:
    """The user's own open tasks: overdue, due later today, upcoming (one aggregate query)."""
    now = timezone.now()
    today_start, today_end = local_day_bounds(tenant, local_today(tenant, now))
    return (
        Task.objects.visible_to(user)
        .filter(assignee=user)
        .open()
        .aggregate(
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            today=Count("pk", filter=Q(due_at__gte=max(now, today_start), due_at__lt=today_end)),
            upcoming=Count("pk", filter=Q(due_at__gte=today_end)),
        )
    )
