"""What the activity services (tasks, follow-ups, appointments) share: minute precision, required text,
local times and in-app notices in the recipient's language."""

from __future__ import annotations

from datetime import datetime

from django.utils import formats, timezone, translation

from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.notification import notify


def this_minute() -> datetime:
    # Forms give minute precision: "now" typed into a form is not "in the past".
    return timezone.now().replace(second=0, microsecond=0)


def required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    return value


def format_local(value: datetime, tenant: Tenant) -> str:
    return formats.date_format(timezone.localtime(value, tenant.tzinfo), "SHORT_DATETIME_FORMAT")


def notify_in_app(*, recipient: User, key: str, url: str, title_fn, body_fn=lambda: "") -> None:
    """An in-app notification written in the recipient's language (the strings are built under it)."""
    with translation.override(recipient.effective_language):
        title, body = str(title_fn()), str(body_fn())
    notify(recipient=recipient, title=title, body=body, url=url, key=key, email=False)
