"""Webhook deliveries: one task per delivery, and the dispatcher that retries those whose backoff has passed; the
daily removal of old Idempotency-Key answers."""

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.api.services import webhook
from crm.api.services.idempotency import expired_keys, idempotency_keys_purge
from crm.services import outbox
from crm.tenancy import TenantTask, tenants_having


@shared_task(base=TenantTask, acks_late=True, label=_("Sending a webhook"))
def deliver_webhook(tenant_id: int, delivery_id: int) -> str:
    delivery = webhook.webhook_deliver(delivery_id=delivery_id)
    return delivery.status if delivery else "skipped"


@shared_task
def redeliver_due_webhooks() -> int:
    """Every minute (beat): one retry run per tenant with webhook deliveries whose backoff has passed."""
    tenant_ids = tenants_having(webhook.due_deliveries)
    for tenant_id in tenant_ids:
        outbox.enqueue(redeliver_tenant_webhooks, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, label=_("Retrying webhooks"))
def redeliver_tenant_webhooks(tenant_id: int) -> int:
    ids = list(webhook.due_deliveries().filter(tenant_id=tenant_id).values_list("pk", flat=True)[:1000])
    for pk in ids:
        outbox.enqueue(deliver_webhook, tenant_id, pk)
    return len(ids)


@shared_task
def purge_idempotency_keys() -> int:
    """Daily (beat): one purge task per tenant that has Idempotency-Key answers older than their keeping time."""
    tenant_ids = tenants_having(expired_keys)
    for tenant_id in tenant_ids:
        outbox.enqueue(purge_tenant_idempotency_keys, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Removing old API idempotency keys"))
def purge_tenant_idempotency_keys(tenant_id: int) -> int:
    return idempotency_keys_purge(tenant_id=tenant_id)
