"""Notifications and outgoing messages: notify() in the recipient's language, messages written as rows and
delivered by a task after commit (queued → sending → sent or failed)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.module_loading import import_string

from crm import tasks
from crm.models import Notification, OutboundMessage, User
from crm.services import outbox

logger = logging.getLogger(__name__)


MESSAGE_MAX_ATTEMPTS = 5


class LazyFormat:
    """A translatable message and its %-parameters, rendered only when turned into text — so notify() renders it
    in the recipient's language, not the language of whoever (or whichever job) triggered it."""

    def __init__(self, message: Any, **params: Any):
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return str(self.message) % {k: str(v) if isinstance(v, Promise) else v for k, v in self.params.items()}


def lazy_format(message: Any, **params: Any) -> LazyFormat:
    return LazyFormat(message, **params)


def render_in_language(value: Any, language: str) -> str:
    with translation.override(language):
        return str(value)


def notify(
    *,
    recipient: User,
    title: Any,
    body: Any = "",
    url: str = "",
    key: str = "",
    email: bool = True,
) -> Notification:
    """Tell a user something: an in-app notification and, if asked, an email, in the recipient's language.

    With a `key`, calling again under the same key changes nothing (jobs may run twice). The email is a row
    committed with the notification and delivered after commit.
    """
    language = recipient.effective_language
    title_text = render_in_language(title, language)[:255]
    body_text = render_in_language(body, language)
    with transaction.atomic():
        if key:
            notification, created = Notification.objects.get_or_create(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                key=key,
                defaults={"title": title_text, "body": body_text, "url": url},
            )
            if not created:
                return notification
        else:
            notification = Notification.objects.create(
                tenant_id=recipient.tenant_id, recipient=recipient, title=title_text, body=body_text, url=url
            )
        if email and recipient.is_active and recipient.email:
            link = f"\n\n{settings.SITE_URL}{url}" if url else ""
            message_queue(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                to_address=recipient.email,
                subject=title_text,
                body=f"{body_text}{link}",
                key=f"notification:{notification.pk}",
            )
    return notification


def message_queue(
    *,
    tenant_id: int,
    to_address: str,
    body: str,
    key: str,
    subject: str = "",
    recipient: User | None = None,
    channel: str = OutboundMessage.Channel.EMAIL,
) -> OutboundMessage:
    """Write an outgoing message under its unique key (once) and deliver it after the transaction commits."""
    with transaction.atomic():
        message, created = OutboundMessage.objects.get_or_create(
            tenant_id=tenant_id,
            key=key,
            defaults={
                "channel": channel,
                "to_address": to_address,
                "subject": subject,
                "body": body,
                "recipient": recipient,
            },
        )
    if created:
        outbox.enqueue(tasks.deliver_message, tenant_id, message.pk)
    return message


class LogSmsBackend:
    """Default SMS backend: writes the message to the log. Replace through settings.SMS_BACKEND."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", to, body)


def _send(message: OutboundMessage) -> None:
    if message.channel == OutboundMessage.Channel.SMS:
        backend = import_string(getattr(settings, "SMS_BACKEND", "crm.services.notification.LogSmsBackend"))()
        backend.send(to=message.to_address, body=message.body)
    else:
        send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to_address])


def message_deliver(*, message_id: int) -> OutboundMessage | None:
    """Send one queued message. Claimed by a conditional UPDATE, so two workers never both send it.

    A crash between the claim and the final update leaves the row in "sending": admins see it as unknown and it is
    never re-sent blindly.
    """
    now = timezone.now()
    won = OutboundMessage.objects.filter(
        pk=message_id, status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=now
    ).update(status=OutboundMessage.Status.SENDING, sending_since=now, attempts=F("attempts") + 1)
    if not won:
        return None
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        _send(message)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded and retried with backoff
        logger.warning("Delivery of message %s failed: %s", message_id, exc)
        final = message.attempts >= MESSAGE_MAX_ATTEMPTS
        OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
            status=OutboundMessage.Status.FAILED if final else OutboundMessage.Status.QUEUED,
            last_error=str(exc)[:2000],
            next_attempt_at=now + timedelta(minutes=2**message.attempts),
            sending_since=None,
        )
        message.refresh_from_db()
        return message
    OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
        status=OutboundMessage.Status.SENT, sent_at=timezone.now(), sending_since=None, last_error=""
    )
    message.refresh_from_db()
    return message


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    notification = Notification.objects.for_tenant(user.tenant).get(pk=notification_id, recipient=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notification_mark_all_read(*, user: User) -> int:
    return (
        Notification.objects.for_tenant(user.tenant)
        .filter(recipient=user, read_at__isnull=True)
        .update(read_at=timezone.now(), updated_at=timezone.now())
    )
