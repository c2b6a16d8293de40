"""Webhooks: endpoints an admin registers, events written as delivery rows in the event's own transaction, and their
signed delivery (queued through the outbox, retried with backoff, the endpoint switched off after repeated failures).

A delivery is a POST of JSON `{"id", "event", "created_at", "data"}` with the headers
`X-CRM-Event`, `X-CRM-Delivery` (the event id, the same on every retry), `X-CRM-Timestamp` (Unix seconds) and
`X-CRM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_admin
from crm.api import tasks
from crm.errors import DomainError
from crm.models import Role, User
from crm.outbound import check_public_url, post_json
from crm.services import outbox
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify

from ..models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# The events an endpoint may subscribe to; the services that own the records emit them (`webhook_emit`).
WEBHOOK_EVENTS = {
    "customer.created": gettext_lazy("Customer created"),
    "customer.updated": gettext_lazy("Customer changed"),
    "customer.claimed": gettext_lazy("Customer claimed from a pool"),
    "customer.fell_back": gettext_lazy("Customer fell back to the pool"),
    "lead.created": gettext_lazy("Lead created"),
    "lead.converted": gettext_lazy("Lead converted"),
    "opportunity.stage_changed": gettext_lazy("Opportunity moved to another stage"),
    "opportunity.won": gettext_lazy("Opportunity won"),
    "ticket.created": gettext_lazy("Ticket created"),
    "ticket.resolved": gettext_lazy("Ticket resolved"),
}
MAX_ATTEMPTS = 6  # a delivery is tried this often (backoff 1, 2, 4, 8, 16 minutes) before it is failed
DISABLE_AFTER = 15  # failed attempts in a row after which the endpoint is switched off


def _clean_events(events: list[str]) -> list[str]:
    events = sorted(set(events))
    if not events or any(event not in WEBHOOK_EVENTS for event in events):
        raise DomainError(_("Choose at least one event."), field="events")
    return events


@transaction.atomic
def webhook_endpoint_save(
    *,
    acting_user: User,
    url: str,
    events: list[str],
    description: str = "",
    endpoint: WebhookEndpoint | None = None,
    is_active: bool = True,
) -> WebhookEndpoint:
    """Register or change an endpoint (administrators). A new one gets a random signing secret; switching one on
    again clears its failure count."""
    require_admin(acting_user)
    url = check_public_url(url)
    events = _clean_events(events)
    if endpoint is None:
        endpoint = WebhookEndpoint(
            tenant_id=acting_user.tenant_id, created_by=acting_user, secret=f"whsec_{secrets.token_urlsafe(24)}"
        )
    else:
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk, tenant_id=acting_user.tenant_id)
    endpoint.url, endpoint.events, endpoint.description = url, events, (description or "").strip()[:200]
    if is_active and not endpoint.is_active:
        endpoint.failures, endpoint.disabled_at = 0, None
    endpoint.is_active = is_active
    endpoint.save()
    audit(tenant=acting_user.tenant, actor=acting_user, action="webhook.save", obj=endpoint, details={"events": events})
    return endpoint


def webhook_emit(*, tenant_id: int, event: str, data: dict[str, Any]) -> int:
    """Write one delivery per active endpoint of the tenant that subscribed to `event`, in the caller's
    transaction, each queued through the outbox (sent only if that transaction commits). Returns how many."""
    return webhook_emit_many(tenant_id=tenant_id, event=event, items=[data])


def webhook_emit_many(*, tenant_id: int, event: str, items: list[dict[str, Any]]) -> int:
    """`webhook_emit` for several records of one event (a job that moves many customers at once): the endpoints are
    read once and the deliveries written in one INSERT. Returns how many deliveries."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    if not items:
        return 0
    endpoints = list(
        WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True, events__contains=[event]).values_list(
            "pk", flat=True
        )
    )
    if not endpoints:
        return 0
    payloads = [json.loads(json.dumps(data, cls=DjangoJSONEncoder)) for data in items]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(tenant_id=tenant_id, endpoint_id=endpoint_id, event=event, payload=payload)
        for payload in payloads
        for endpoint_id in endpoints
    )
    for delivery in deliveries:
        outbox.enqueue(tasks.deliver_webhook, tenant_id, delivery.pk)
    return len(deliveries)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int, str]:
    body = json.dumps(
        {
            "id": str(delivery.event_id),
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "data": delivery.payload,
        },
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time())
    return post_json(
        endpoint.url,
        body,
        {
            "X-CRM-Event": delivery.event,
            "X-CRM-Delivery": str(delivery.event_id),
            "X-CRM-Timestamp": str(timestamp),
            "X-CRM-Signature": signature(endpoint.secret, timestamp, body),
        },
    )


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one due delivery. Claimed by a conditional UPDATE, so two workers never both send it; a 2xx answer
    delivers it, anything else is retried with backoff up to MAX_ATTEMPTS. DISABLE_AFTER failures in a row switch
    the endpoint off and tell the tenant's administrators."""
    now = timezone.now()
    won = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.QUEUED, next_attempt_at__lte=now, endpoint__is_active=True
    ).update(status=WebhookDelivery.Status.SENDING, sending_since=now, attempts=F("attempts") + 1)
    if not won:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    code, text, error = None, "", ""
    try:
        code, text = _post(endpoint, delivery)
    except DomainError as exc:
        error = exc.message
    except (OSError, ValueError) as exc:
        error = str(exc) or exc.__class__.__name__
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.SENT,
            response_code=code,
            response_body=text,
            last_error="",
            delivered_at=timezone.now(),
            sending_since=None,
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures=0)
    else:
        error = error or _("The endpoint answered %(code)s.") % {"code": code}
        final = delivery.attempts >= MAX_ATTEMPTS
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.QUEUED,
            response_code=code,
            response_body=text,
            last_error=error[:2000],
            next_attempt_at=now + timedelta(minutes=2 ** (delivery.attempts - 1)),
            sending_since=None,
        )
        _count_failure(endpoint)
    delivery.refresh_from_db()
    return delivery


def _count_failure(endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures=F("failures") + 1)
        switched_off = WebhookEndpoint.objects.filter(
            pk=endpoint.pk, is_active=True, failures__gte=DISABLE_AFTER
        ).update(is_active=False, disabled_at=timezone.now())
        if not switched_off:
            return
        admins = User.objects.filter(tenant_id=endpoint.tenant_id, is_active=True, roles__contains=[Role.ADMIN])
        for admin in admins:
            notify(
                recipient=admin,
                title=lazy_format(gettext_lazy("Webhook switched off: %(url)s"), url=endpoint.url),
                body=gettext_lazy("It failed too many times in a row. Check the receiving system, then switch it on."),
                url=reverse("api:webhook_edit", args=[endpoint.pk]),
                key=f"webhook-off:{endpoint.pk}:{endpoint.updated_at.timestamp():.0f}",
            )


@transaction.atomic
def webhook_redeliver(*, acting_user: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (an administrator's "resend"): the same event id, queued now."""
    require_admin(acting_user)
    locked = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if locked.status == WebhookDelivery.Status.SENDING:
        raise DomainError(_("This delivery is being sent right now."))
    if not locked.endpoint.is_active:
        raise DomainError(_("Switch the webhook on first."))
    locked.status, locked.next_attempt_at, locked.attempts = WebhookDelivery.Status.QUEUED, timezone.now(), 0
    locked.save(update_fields=["status", "next_attempt_at", "attempts", "updated_at"])
    outbox.enqueue(tasks.deliver_webhook, locked.tenant_id, locked.pk)
    audit(tenant=acting_user.tenant, actor=acting_user, action="webhook.redeliver", obj=locked)
    return locked


def due_deliveries():
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.QUEUED, next_attempt_at__lte=timezone.now(), endpoint__is_active=True
    )
