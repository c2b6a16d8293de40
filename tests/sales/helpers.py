"""Small builders for the sales tests: customers through the customers app's service, local datetimes for forms."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.services.customer import customer_create
from sales.models import Task


def make_customer(user, name, mobile=""):
    return customer_create(acting_user=user, data={"name": name}, contact={"name": f"{name}联系人", "mobile": mobile})


def local(dt: datetime) -> str:
    """A datetime as a datetime-local form value in the current (tenant's) time zone."""
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def later(**kwargs) -> datetime:
    return timezone.now() + timedelta(**kwargs)


def make_task(user, title="回访", *, due=None, remind=None, customer=None, **extra) -> Task:
    due = due or later(days=1)
    return Task.objects.create(
        tenant_id=user.tenant_id,
        title=title,
        assignee=user,
        due_at=due,
        remind_at=remind,
        customer=customer,
        created_by=user,
        **extra,
    )


def queries_for(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def in_english(*users) -> None:
    """The worlds' tenants speak zh-hans; these users read the English source strings."""
    for user in users:
        user.language = "en"
        user.save(update_fields=["language"])


def put_at_midday(tenant) -> None:
    """Move the tenant to a time zone where it is now between 12:00 and 13:00, so "today", "overdue" and
    "upcoming" tests never straddle midnight whenever they run."""
    from datetime import UTC

    offset = 12 - timezone.now().astimezone(UTC).hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    # Etc/GMT signs are inverted: Etc/GMT-8 is UTC+8.
    tenant.timezone = f"Etc/GMT{-offset:+d}" if offset else "UTC"
    tenant.save(update_fields=["timezone"])
