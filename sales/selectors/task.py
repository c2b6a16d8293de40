"""Reads of tasks that combine more than one filter: the counts on the task list and the home widget."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from crm.models import User
from crm.workcalendar.selectors import user_day_bounds, user_today
from sales.models import Task


def task_counts(user: User, tenant, now=None) -> dict:
    """The user's own open tasks: overdue, due later today, upcoming (one aggregate query). "Today" is the user's
    own day (their time zone, else the company's)."""
    now = now or timezone.now()
    today_start, today_end = user_day_bounds(user, user_today(user, now))
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
