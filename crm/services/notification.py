"""Notifications and outgoing messages: notify() in the recipient's language, messages written as rows and
delivered by a task after commit (queued → sending → sent or failed), SMS through a pluggable backend
(settings.SMS_BACKEND), and user-written message templates rendered in a sandbox (`render_placeholders`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import tasks
from crm.access import require_admin
from crm.errors import DomainError
from crm.files import file_save
from crm.models import Notification, OutboundAttachment, OutboundMessage, RobotChannel, Team, User
from crm.outbound import check_public_url, fetch_configured, post_json
from crm.registry import registry
from crm.services import outbox
from crm.services.audit import audit

logger = logging.getLogger(__name__)


MESSAGE_MAX_ATTEMPTS = 5
# Messages of a bulk job delivered by one task.
DELIVERY_BATCH = 50


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


def message_spec(value: Any) -> Any:
    """A message as JSON that can be rendered again in any language: the msgids of translatable strings (gettext,
    pgettext, ngettext — lazy, as lazy_format takes them) and the %-parameters of a LazyFormat, each in the same
    form. Anything else is kept as its text (names, numbers), rendered in the active language."""
    if isinstance(value, LazyFormat):
        return {"fmt": message_spec(value.message), "params": {k: message_spec(v) for k, v in value.params.items()}}
    if isinstance(value, Promise):
        args, kw = getattr(value, "_args", ()), getattr(value, "_kw", {})
        if not kw and len(args) == 1 and isinstance(args[0], str):
            return {"gettext": args[0]}
        if not kw and len(args) == 2 and all(isinstance(a, str) for a in args):
            return {"pgettext": list(args)}
        if not args and {"singular", "plural"} <= set(kw) and set(kw) <= {"singular", "plural", "number"}:
            number = kw.get("number")
            return {"ngettext": [kw["singular"], kw["plural"], number if isinstance(number, int | str) else None]}
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def render_message(spec: Any, params: Mapping[str, Any] | None = None) -> str:
    """A message_spec() rendered in the active language."""
    if isinstance(spec, dict):
        if "fmt" in spec:
            rendered = {k: _value(v) for k, v in (spec.get("params") or {}).items()}
            return render_message(spec["fmt"], rendered) % rendered
        if "gettext" in spec:
            return translation.gettext(spec["gettext"])
        if "pgettext" in spec:
            return translation.pgettext(*spec["pgettext"])
        if "ngettext" in spec:
            singular, plural, number = spec["ngettext"]
            if isinstance(number, str):
                number = (params or {}).get(number, 0)
            return translation.ngettext(singular, plural, number if isinstance(number, int) else 0)
    return str(spec)


def _value(spec: Any) -> Any:
    return spec if isinstance(spec, int | float) and not isinstance(spec, bool) else render_message(spec)


def notification_text(notification: Notification, part: str) -> str:
    """A notification's title or body in the reader's active language, from the message it was written with; the
    stored text (in the language of the recipient when it was written) for notifications without one."""
    spec = (notification.message or {}).get(part)
    stored = getattr(notification, part)
    if spec is None:
        return stored
    try:
        text = render_message(spec)
    except (KeyError, TypeError, ValueError, IndexError):
        return stored
    return text[:255] if part == "title" else text


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
    robot_event: str = "",
    attachments: Sequence[MessageFile] = (),
) -> Notification:
    """Tell a user something: an in-app notification and, if asked, an email (carrying `attachments`), in the
    recipient's language.

    With a `key`, calling again under the same key changes nothing (jobs may run twice). The email is a row
    committed with the notification and delivered after commit. With a `robot_event` (one of ROBOT_EVENTS), the
    group robots of the recipient's team (and the company's own) that chose that event post it too, as messages.
    """
    language = recipient.effective_language
    title_text = render_in_language(title, language)[:255]
    body_text = render_in_language(body, language)
    # The message itself, so the bell and the list show it in the language the reader has when reading it.
    with translation.override(language):
        message = {part: message_spec(value) for part, value in (("title", title), ("body", body)) if _lazy(value)}
    with transaction.atomic():
        if key:
            notification, created = Notification.objects.get_or_create(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                key=key,
                defaults={"title": title_text, "body": body_text, "url": url, "message": message},
            )
            if not created:
                return notification
        else:
            notification = Notification.objects.create(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                title=title_text,
                body=body_text,
                url=url,
                message=message,
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
                attachments=attachments,
            )
        if robot_event:
            _queue_robot_posts(recipient, notification, robot_event)
    return notification


def _lazy(value: Any) -> bool:
    return isinstance(value, LazyFormat | Promise)


# --- group robots (WeCom, DingTalk, Feishu) ------------------------------------------------------------------

# The notifications a group robot may post; callers of notify() name theirs with `robot_event`.
ROBOT_EVENTS = {
    "lead_assigned": gettext_lazy("A lead is assigned"),
    "fallback_warning": gettext_lazy("A customer is about to fall back to the pool"),
    "urgent_ticket": gettext_lazy("An urgent ticket"),
    "approval_waiting": gettext_lazy("An approval is waiting"),
}


def _robot_channels(tenant_id: int, events: set[str]) -> list[RobotChannel]:
    unknown = events - set(ROBOT_EVENTS)
    if unknown:
        raise ValueError(f"Unknown robot events {sorted(unknown)!r}")
    return list(
        RobotChannel.objects.filter(tenant_id=tenant_id, is_active=True, events__overlap=sorted(events)).only(
            "pk", "team_id", "events"
        )
    )


def _queue_robot_posts(recipient: User, notification: Notification, event: str, channels=None) -> None:
    """Queue `notification` to the active group robots that take `event`: the company's, and the recipient's team's.
    `channels` (from _robot_channels) saves notify_many a query per notification."""
    if channels is None:
        channels = _robot_channels(recipient.tenant_id, {event})
    text = notification.title + (f"\n{notification.body}" if notification.body else "")
    if notification.url:
        text += f"\n{settings.SITE_URL}{notification.url}"
    for channel in channels:
        if event not in channel.events or channel.team_id not in (None, recipient.team_id):
            continue
        message_queue(
            tenant_id=recipient.tenant_id,
            channel=OutboundMessage.Channel.ROBOT,
            to_address=f"robot:{channel.pk}",
            body=text,
            key=f"robot:{channel.pk}:{notification.pk}",
        )


@transaction.atomic
def robot_channel_save(
    *,
    acting_user: User,
    kind: str,
    name: str,
    url: str,
    events: list[str],
    secret: str = "",
    team: Team | None = None,
    is_active: bool = True,
    channel: RobotChannel | None = None,
) -> RobotChannel:
    """Set up or change a group robot (administrators)."""
    require_admin(acting_user)
    if kind not in RobotChannel.Kind.values:
        raise DomainError(_("Choose the kind of robot."), field="kind")
    if not (name or "").strip():
        raise DomainError(_("Give the robot a name."), field="name")
    url = check_public_url(url)
    events = sorted(set(events))
    if not events or any(event not in ROBOT_EVENTS for event in events):
        raise DomainError(_("Choose at least one notification."), field="events")
    if team is not None and team.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a team of your company."), field="team")
    if channel is None:
        channel = RobotChannel(tenant_id=acting_user.tenant_id, created_by=acting_user)
    channel.kind, channel.name, channel.url, channel.secret = kind, name.strip()[:100], url, (secret or "").strip()
    channel.events, channel.team, channel.is_active = events, team, is_active
    channel.save()
    audit(tenant=acting_user.tenant, actor=acting_user, action="robot.save", obj=channel)
    return channel


@transaction.atomic
def robot_channel_set_active(*, acting_user: User, channel: RobotChannel, is_active: bool) -> RobotChannel:
    """Switch a group robot on or off (administrators)."""
    require_admin(acting_user)
    RobotChannel.objects.filter(pk=channel.pk, tenant_id=acting_user.tenant_id).update(
        is_active=is_active, updated_at=timezone.now()
    )
    channel.is_active = is_active
    audit(tenant=acting_user.tenant, actor=acting_user, action="robot.active", obj=channel, details={"on": is_active})
    return channel


def robot_channel_test(*, acting_user: User, channel: RobotChannel) -> OutboundMessage:
    """Queue a test message to a group robot (administrators), delivered like every robot post; the outgoing
    messages log shows whether its group took it. A switched-off robot is refused: it would post nothing.

    Audited either way (`robot.test`, or `robot.test.refused` with the reason: who and which robot), and again when the test is delivered
    (`robot.test.sent` or `robot.test.failed`, see message_deliver). Neither row holds the robot's address or secret."""
    require_admin(acting_user)
    if not channel.is_active:
        reason = _("Switch the robot on before sending a test message.")
        _audit_robot_test(acting_user, channel, result="refused", reason=reason)
        raise DomainError(reason)
    text = _("Test message from %(company)s's CRM: the robot “%(name)s” is set up.") % {
        "company": acting_user.tenant.name,
        "name": channel.name,
    }
    with transaction.atomic():
        message = message_queue(
            tenant_id=acting_user.tenant_id,
            channel=OutboundMessage.Channel.ROBOT,
            to_address=f"robot:{channel.pk}",
            body=text,
            key=f"{ROBOT_TEST_KEY}{channel.pk}:{uuid.uuid4().hex}",
        )
        _audit_robot_test(acting_user, channel, result="queued", message=message)
    return message


# The key of every test message to a robot starts so: its delivery is audited too.
ROBOT_TEST_KEY = "robot-test:"


def _audit_robot_test(
    user: User, channel: RobotChannel, *, result: str, reason: str = "", message: OutboundMessage | None = None
) -> None:
    details: dict[str, Any] = {"kind": channel.kind, "name": channel.name, "result": result}
    if reason:
        details["reason"] = str(reason)
    if message is not None:
        details["message"] = message.pk
    action = "robot.test" if result == "queued" else "robot.test.refused"
    audit(tenant=user.tenant, actor=user, action=action, obj=channel, details=details)


_URL = re.compile(r"https?://\S+")


def _audit_robot_test_result(message: OutboundMessage) -> None:
    """The outcome of a test message's delivery attempt: sent, failed for good, or to be retried, with the robot's
    answer — its address (which carries the access token) and its secret blanked out."""
    robot_id = message.to_address.removeprefix("robot:")
    channel = (
        RobotChannel.objects.filter(tenant_id=message.tenant_id, pk=int(robot_id)).first()
        if robot_id.isdigit()
        else None
    )
    if channel is None:
        return
    error = _URL.sub("…", message.last_error or "")
    for secret in (channel.url, channel.secret):
        if secret:
            error = error.replace(secret, "…")
    result = {OutboundMessage.Status.QUEUED: "retrying"}.get(message.status, message.status)
    audit(
        tenant=message.tenant,
        actor=None,
        action="robot.test.sent" if result == OutboundMessage.Status.SENT else "robot.test.failed",
        obj=channel,
        details={
            "kind": channel.kind,
            "name": channel.name,
            "result": result,
            "message": message.pk,
            "error": error[:300],
        },
    )


def _robot_sign(secret: str, timestamp: str) -> str:
    """DingTalk's and Feishu's signature: base64 of HMAC-SHA256 over "<timestamp>\n<secret>"."""
    key, message = (f"{timestamp}\n{secret}".encode(), b"")
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def robot_post(channel: RobotChannel, text: str) -> None:
    """Post `text` to a group robot in its own protocol; raises RobotError unless it answers success."""
    url = channel.url
    if channel.kind == RobotChannel.Kind.FEISHU:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if channel.secret:
            timestamp = str(int(time.time()))
            body |= {"timestamp": timestamp, "sign": _robot_sign(channel.secret, timestamp)}
    else:
        body = {"msgtype": "text", "text": {"content": text}}
        if channel.kind == RobotChannel.Kind.DINGTALK and channel.secret:
            timestamp = str(int(time.time() * 1000))
            # DingTalk signs with the secret as the HMAC key over "<timestamp>\n<secret>".
            digest = hmac.new(channel.secret.encode(), f"{timestamp}\n{channel.secret}".encode(), hashlib.sha256)
            sign = quote_plus(base64.b64encode(digest.digest()).decode())
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
    try:
        status, answer = post_json(url, body)
    except DomainError as error:
        raise RobotError(error.message) from error
    try:
        result = json.loads(answer or "{}")
    except ValueError:
        result = {}
    code = result.get("errcode", result.get("code", result.get("StatusCode", 0)))
    if not 200 <= status < 300 or code not in (0, None):
        raise RobotError(f"{status} {answer[:300]}")


class RobotError(Exception):
    """A group robot refused or did not take a message."""


@dataclass(frozen=True)
class Note:
    """One notification for notify_many: as notify()'s arguments, `key` required."""

    recipient: User
    title: Any
    key: str
    body: Any = ""
    url: str = ""
    email: bool = True
    robot_event: str = ""


def notify_many(*, tenant_id: int, notes: list[Note]) -> list[Notification]:
    """notify() for a job's many notifications in a few statements: the keys already notified are skipped (one
    query), the new rows inserted at once and their emails queued in bulk, in the caller's transaction. The caller
    must hold what the keys stand for (e.g. the rows' locks), so no one else notifies under them meanwhile."""
    notes = [n for n in notes if n.recipient.tenant_id == tenant_id]
    if not notes:
        return []
    seen = set(
        Notification.objects.filter(tenant_id=tenant_id, key__in={n.key for n in notes}).values_list(
            "recipient_id", "key"
        )
    )
    fresh: list[Note] = []
    for note in notes:
        if (note.recipient.pk, note.key) not in seen:
            seen.add((note.recipient.pk, note.key))
            fresh.append(note)
    rows = []
    for note in fresh:
        language = note.recipient.effective_language
        with translation.override(language):
            message = {p: message_spec(v) for p, v in (("title", note.title), ("body", note.body)) if _lazy(v)}
        rows.append(
            Notification(
                tenant_id=tenant_id,
                recipient=note.recipient,
                title=render_in_language(note.title, language)[:255],
                body=render_in_language(note.body, language),
                url=note.url,
                key=note.key,
                message=message,
            )
        )
    created = Notification.objects.bulk_create(rows)
    messages = []
    for note, row in zip(fresh, created, strict=True):
        if note.email and note.recipient.is_active and note.recipient.email:
            link = f"\n\n{settings.SITE_URL}{row.url}" if row.url else ""
            messages.append(
                OutboundMessage(
                    channel=OutboundMessage.Channel.EMAIL,
                    recipient=note.recipient,
                    to_address=note.recipient.email,
                    subject=row.title,
                    body=f"{row.body}{link}",
                    key=f"notification:{row.pk}",
                )
            )
    if messages:
        messages_queue_bulk(tenant_id=tenant_id, messages=messages)
    robot_events = {note.robot_event for note in fresh if note.robot_event}
    if robot_events:
        channels = _robot_channels(tenant_id, robot_events)
        for note, row in zip(fresh, created, strict=True):
            if note.robot_event:
                _queue_robot_posts(note.recipient, row, note.robot_event, channels)
    return created


@dataclass(frozen=True)
class MessageFile:
    """A file for an outgoing email: the name and type the recipient sees, and its content (bytes, or an open
    Django File such as a stored attachment's)."""

    name: str
    content_type: str
    content: bytes | Any

    @property
    def size(self) -> int:
        return len(self.content) if isinstance(self.content, bytes) else self.content.size


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def message_attachments_refusal(sizes: Iterable[int]) -> str:
    """Why files of these sizes cannot travel on one email (a translated sentence), or "" when they can: their
    total must stay within OUTBOUND_ATTACHMENTS_MAX_BYTES."""
    total = sum(sizes)
    if total <= settings.OUTBOUND_ATTACHMENTS_MAX_BYTES:
        return ""
    return _("The attachments total %(size)s MB; an email may carry at most %(max)s MB.") % {
        "size": _megabytes(total),
        "max": _megabytes(settings.OUTBOUND_ATTACHMENTS_MAX_BYTES),
    }


def _attachments_store(message: OutboundMessage, files: Sequence[MessageFile]) -> None:
    for item in files:
        content = ContentFile(item.content) if isinstance(item.content, bytes) else item.content
        content.seek(0)
        attachment = OutboundAttachment(
            tenant_id=message.tenant_id,
            message=message,
            name=item.name[:150],
            content_type=item.content_type[:100],
            size=item.size,
        )
        file_save(attachment.file, item.name, content)
        attachment.save()


def message_queue(
    *,
    tenant_id: int,
    to_address: str,
    body: str,
    key: str,
    subject: str = "",
    recipient: User | None = None,
    channel: str = OutboundMessage.Channel.EMAIL,
    headers: dict[str, str] | None = None,
    attachments: Sequence[MessageFile] = (),
    consent_contact: int | None = None,
) -> OutboundMessage:
    """Write an outgoing message under its unique key (once) and deliver it after the transaction commits.
    `headers`: extra email headers (e.g. Message-ID, In-Reply-To and References that thread a conversation).
    `attachments`: files an email carries, stored with the row (deleted again if the transaction rolls back). Over
    OUTBOUND_ATTACHMENTS_MAX_BYTES in all, the message is written as failed, saying why, and never sent.
    `consent_contact`: a marketing message's contact; without their consent the message is written refused and
    never sent (see consent_refusals)."""
    refused = consent_refusals(tenant_id, [consent_contact]).get(consent_contact, "") if consent_contact else ""
    too_big = (
        message_attachments_refusal(f.size for f in attachments)
        if channel == OutboundMessage.Channel.EMAIL and not refused
        else ""
    )
    if refused:
        status, error = OutboundMessage.Status.REFUSED, refused
    elif too_big:
        status, error = OutboundMessage.Status.FAILED, too_big
    else:
        status, error = OutboundMessage.Status.QUEUED, ""
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
                "headers": headers or {},
                "consent_contact": consent_contact,
                "status": status,
                "last_error": error,
            },
        )
        if (
            created
            and attachments
            and status == OutboundMessage.Status.QUEUED
            and channel == OutboundMessage.Channel.EMAIL
        ):
            _attachments_store(message, attachments)
    if created and message.status == OutboundMessage.Status.QUEUED:
        outbox.enqueue(tasks.deliver_message, tenant_id, message.pk)
    return message


def consent_refusals(tenant_id: int, contact_ids: Iterable[int | None]) -> dict[int, str]:
    """{contact id: why not} for the contacts of marketing messages that may not be sent them: no marketing
    consent, unsubscribed, erased or gone — asked of the app that keeps consent (crm.registry.MarketingConsent), in
    one query. The one consent check of every marketing message (care greetings, blasts, NPS), whoever queues it;
    transactional messages (ticket replies, notifications) name no contact and are never checked. Fails closed:
    with no app answering, every contact is refused."""
    ids = sorted({pk for pk in contact_ids if pk is not None})
    if not ids:
        return {}
    checks = registry.marketing_consents()
    if not checks:
        return dict.fromkeys(ids, "no consent check")
    refused: dict[int, str] = {}
    for check in checks:
        refused |= check.refusals(tenant_id, ids)
    return refused


def messages_queue_bulk(*, tenant_id: int, messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """Write many new outgoing messages (each under its own unique key) in one statement per batch, in the caller's
    transaction, and deliver each after that transaction commits (marketing messages whose contact may not get
    them are written refused, see consent_refusals). For jobs that queue thousands at once; a key
    already taken raises IntegrityError, so the caller must own the keys (e.g. rows it has just inserted)."""
    refused = consent_refusals(tenant_id, (m.consent_contact for m in messages))
    for message in messages:
        message.tenant_id = tenant_id
        if message.consent_contact in refused:
            message.status, message.last_error = OutboundMessage.Status.REFUSED, refused[message.consent_contact]
    created = OutboundMessage.objects.bulk_create(messages, batch_size=1000)
    ids = [m.pk for m in created if m.status == OutboundMessage.Status.QUEUED]
    batches = [ids[i : i + DELIVERY_BATCH] for i in range(0, len(ids), DELIVERY_BATCH)]
    # One delivery task per batch, not per message: enqueueing thousands one by one costs seconds.
    for batch in batches:
        outbox.enqueue(tasks.deliver_messages, tenant_id, batch)
    return created


class LogSmsBackend:
    """Default SMS backend: writes the message to the log (the message row keeps it too). Replace through
    settings.SMS_BACKEND."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", to, body)


# What LocmemSmsBackend sent, like django.core.mail.outbox (tests and development).
sms_outbox: list[dict[str, str]] = []


class LocmemSmsBackend:
    """SMS backend for tests: appends each message to `sms_outbox`."""

    def send(self, *, to: str, body: str) -> None:
        sms_outbox.append({"to": to, "body": body})


class SmsError(Exception):
    """An SMS provider refused a message: `code` is the provider's own code (kept on the message), `permanent` when
    sending it again cannot succeed (a wrong number, a template or signature the provider does not accept), so the
    message fails at once instead of being retried."""

    def __init__(self, code: str, message: str = "", *, permanent: bool = False):
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.permanent = code, permanent


def _aliyun_quote(value: str) -> str:
    """Aliyun's percent-encoding of the RPC signature: RFC 3986, only A-Z a-z 0-9 - _ . ~ left as they are."""
    return quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """Aliyun's RPC signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0): the parameters sorted by name and
    percent-encoded into the canonicalised query, signed as "<method>&%2F&<the query, encoded again>" with the key
    "<AccessKeySecret>&", base64."""
    canonical = "&".join(f"{_aliyun_quote(k)}={_aliyun_quote(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{_aliyun_quote('/')}&{_aliyun_quote(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun answers whose message sending again cannot fix; everything else (flow control, the provider's own errors,
# the network) is retried by the delivery rules.
ALIYUN_PERMANENT_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DENY_IP_RANGE",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.AMOUNT_NOT_ENOUGH",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
}


def aliyun_phone(number: str) -> str:
    """A number as dysmsapi takes it: mainland numbers without +86, others with 00 and their country code."""
    number = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    if number.startswith("+86"):
        return number[3:]
    return "00" + number[1:] if number.startswith("+") else number


class AliyunSmsBackend:
    """SMS through Aliyun's SMS service (dysmsapi, SendSms). Chinese providers send only approved templates under
    an approved sign name: the message text goes into the template's one variable. Settings (from the
    environment): SMS_ALIYUN_ACCESS_KEY_ID, SMS_ALIYUN_ACCESS_KEY_SECRET, SMS_ALIYUN_SIGN_NAME,
    SMS_ALIYUN_TEMPLATE_CODE, SMS_ALIYUN_TEMPLATE_PARAM (the variable's name, `content`), SMS_ALIYUN_ENDPOINT.
    Raises SmsError with the provider's code unless it answers "OK"."""

    def send(self, *, to: str, body: str) -> None:
        params = {
            "AccessKeyId": settings.SMS_ALIYUN_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": aliyun_phone(to),
            "RegionId": "cn-hangzhou",
            "SignName": settings.SMS_ALIYUN_SIGN_NAME,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": settings.SMS_ALIYUN_TEMPLATE_CODE,
            "TemplateParam": json.dumps({settings.SMS_ALIYUN_TEMPLATE_PARAM: body}, ensure_ascii=False),
            "Timestamp": timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        signature = aliyun_signature(params, settings.SMS_ALIYUN_ACCESS_KEY_SECRET)
        query = "&".join(f"{_aliyun_quote(k)}={_aliyun_quote(v)}" for k, v in sorted(params.items()))
        url = f"{settings.SMS_ALIYUN_ENDPOINT.rstrip('/')}/?Signature={_aliyun_quote(signature)}&{query}"
        status, answer = fetch_configured(url)
        try:
            result = json.loads(answer or "{}")
        except ValueError:
            result = {}
        code = str(result.get("Code") or f"HTTP {status}")
        if code != "OK":
            raise SmsError(code, str(result.get("Message", ""))[:300], permanent=code in ALIYUN_PERMANENT_CODES)


def tencent_signature(
    *, secret_key: str, host: str, payload: bytes, timestamp: int, service: str = "sms"
) -> tuple[str, str]:
    """Tencent Cloud's TC3-HMAC-SHA256 for a JSON POST to "/": the canonical request (method, path, no query, the
    signed headers content-type and host, the payload's SHA-256), the string to sign with its credential scope
    "<UTC date>/<service>/tc3_request", and the key derived from "TC3<SecretKey>" over the date, the service and
    "tc3_request". Returns (credential scope, hex signature)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"TC3{secret_key}".encode()
    for part in (day, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return scope, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


# Tencent answers whose message sending again cannot fix.
TENCENT_PERMANENT_PREFIXES = (
    "InvalidParameterValue",
    "InvalidParameter",
    "MissingParameter",
    "UnsupportedOperation",
    "UnauthorizedOperation",
    "AuthFailure",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.InsufficientBalanceInSmsPackage",
)


class TencentSmsBackend:
    """SMS through Tencent Cloud SMS (SendSms, API 2021-01-11), signed TC3-HMAC-SHA256. The message text is the
    approved template's one parameter. Settings (from the environment): SMS_TENCENT_SECRET_ID,
    SMS_TENCENT_SECRET_KEY, SMS_TENCENT_SDK_APP_ID, SMS_TENCENT_SIGN_NAME, SMS_TENCENT_TEMPLATE_ID,
    SMS_TENCENT_REGION, SMS_TENCENT_ENDPOINT. Raises SmsError with Tencent's code unless the number's status is
    "Ok"."""

    def send(self, *, to: str, body: str) -> None:
        payload = json.dumps(
            {
                "PhoneNumberSet": [to if to.startswith("+") else f"+86{to}"],
                "SmsSdkAppId": settings.SMS_TENCENT_SDK_APP_ID,
                "SignName": settings.SMS_TENCENT_SIGN_NAME,
                "TemplateId": settings.SMS_TENCENT_TEMPLATE_ID,
                "TemplateParamSet": [body],
            },
            ensure_ascii=False,
        ).encode()
        url = settings.SMS_TENCENT_ENDPOINT.rstrip("/") + "/"
        host = urlsplit(url).netloc
        timestamp = int(time.time())
        scope, signature = tencent_signature(
            secret_key=settings.SMS_TENCENT_SECRET_KEY, host=host, payload=payload, timestamp=timestamp
        )
        authorization = (
            f"TC3-HMAC-SHA256 Credential={settings.SMS_TENCENT_SECRET_ID}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": settings.SMS_TENCENT_REGION,
        }
        status, answer = fetch_configured(url, method="POST", data=payload, headers=headers)
        try:
            result = json.loads(answer or "{}").get("Response") or {}
        except (ValueError, AttributeError):
            result = {}
        error = result.get("Error") or {}
        statuses = result.get("SendStatusSet") or [{}]
        code = str(error.get("Code") or statuses[0].get("Code") or f"HTTP {status}")
        message = str(error.get("Message") or statuses[0].get("Message") or "")
        if code != "Ok":
            raise SmsError(code, message[:300], permanent=code.startswith(TENCENT_PERMANENT_PREFIXES))


def sms_backend():
    return import_string(getattr(settings, "SMS_BACKEND", "crm.services.notification.LogSmsBackend"))()


def _send(message: OutboundMessage) -> None:
    if message.channel == OutboundMessage.Channel.ROBOT:
        channel = RobotChannel.objects.filter(
            tenant_id=message.tenant_id, pk=int(message.to_address.removeprefix("robot:")), is_active=True
        ).first()
        if channel is None:
            raise RobotError("The group robot is gone or switched off.")
        robot_post(channel, message.body)
    elif message.channel == OutboundMessage.Channel.SMS:
        sms_backend().send(to=message.to_address, body=message.body)
    else:
        email = EmailMessage(
            message.subject,
            message.body,
            settings.DEFAULT_FROM_EMAIL,
            [message.to_address],
            headers=message.headers or None,
        )
        for attachment in OutboundAttachment.objects.filter(tenant_id=message.tenant_id, message=message):
            with attachment.file.open("rb") as stored:
                email.attach(attachment.name, stored.read(), attachment.content_type)
        email.send()


# --- user-written templates ----------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
TEMPLATE_SYNTAX = re.compile(r"\{%|%\}|\{#|#\}")


def placeholder_errors(template: str, allowed: Iterable[str]) -> list[str]:
    """What is wrong with a user-written template: placeholders not in `allowed` and any template-tag syntax."""
    allowed = set(allowed)
    errors = sorted({name for name in PLACEHOLDER.findall(template) if name not in allowed})
    if TEMPLATE_SYNTAX.search(template):
        errors.append("{% %}")
    return errors


def render_placeholders(template: str, values: Mapping[str, object]) -> str:
    """Render a user-written template in a sandbox: `{{ name }}` is replaced by values[name] when `name` is one of
    the given names, and left as typed otherwise. No template engine runs: no tags, filters, attribute walking or
    method calls, whatever the text says. The result is plain text (emails and SMS are sent as text)."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return PLACEHOLDER.sub(replace, template)


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
    if message.consent_contact is not None:
        # Checked again when sent: the contact may have unsubscribed since the message was queued.
        refused = consent_refusals(message.tenant_id, [message.consent_contact]).get(message.consent_contact)
        if refused:
            OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
                status=OutboundMessage.Status.REFUSED, last_error=refused, sending_since=None
            )
            message.refresh_from_db()
            return message
    try:
        _send(message)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded and retried with backoff
        logger.warning("Delivery of message %s failed: %s", message_id, exc)
        final = message.attempts >= MESSAGE_MAX_ATTEMPTS or getattr(exc, "permanent", False)
        OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
            status=OutboundMessage.Status.FAILED if final else OutboundMessage.Status.QUEUED,
            last_error=str(exc)[:2000],
            next_attempt_at=now + timedelta(minutes=2**message.attempts),
            sending_since=None,
        )
        message.refresh_from_db()
        if message.key.startswith(ROBOT_TEST_KEY):
            _audit_robot_test_result(message)
        return message
    OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
        status=OutboundMessage.Status.SENT, sent_at=timezone.now(), sending_since=None, last_error=""
    )
    message.refresh_from_db()
    if message.key.startswith(ROBOT_TEST_KEY):
        _audit_robot_test_result(message)
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
