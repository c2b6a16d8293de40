"""Thin Celery tasks of the core app: they take ids and call services."""

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import OutboundMessage
from .services import health, notification, outbox, tenant
from .tenancy import TenantTask, tenants_having


@shared_task(base=TenantTask, acks_late=True, label=_("Sending an email"))
def deliver_message(tenant_id: int, message_id: int) -> str:
    message = notification.message_deliver(message_id=message_id)
    return message.status if message else "skipped"


@shared_task(base=TenantTask, acks_late=True, label=_("Sending a batch of messages"))
def deliver_messages(tenant_id: int, message_ids: list[int]) -> int:
    """Deliver a batch of a job's messages, one after the other (each claimed by its own conditional UPDATE, so a
    redelivered batch sends nothing twice). Returns how many this run sent."""
    sent = 0
    for message_id in message_ids:
        message = notification.message_deliver(message_id=message_id)
        sent += bool(message and message.status == OutboundMessage.Status.SENT)
    return sent


def _due_messages():
    return OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now())


@shared_task
def purge_unverified_signups() -> int:
    """Dispatcher: one purge task per sign-up whose verification window has passed."""
    ids = tenant.unverified_tenant_ids()
    for pk in ids:
        outbox.enqueue(purge_unverified_signup, pk)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Removing an unverified sign-up"))
def purge_unverified_signup(tenant_id: int) -> bool:
    return tenant.tenant_purge_if_unverified(tenant_id=tenant_id)


@shared_task
def redeliver_queued_messages() -> int:
    """Every five minutes (beat): one redelivery run per tenant with queued messages that are due — those whose
    after-commit enqueue was lost, or whose retry is due."""
    tenant_ids = tenants_having(_due_messages)
    for tenant_id in tenant_ids:
        outbox.enqueue(redeliver_tenant_messages, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, label=_("Retrying unsent emails"))
def redeliver_tenant_messages(tenant_id: int) -> int:
    ids = list(_due_messages().filter(tenant_id=tenant_id).values_list("pk", flat=True)[:1000])
    for pk in ids:
        outbox.enqueue(deliver_message, tenant_id, pk)
    return len(ids)


@shared_task
def relay_outbox() -> int:
    """Every minute (beat): send the task calls that waited in the outbox while the broker was unreachable."""
    return outbox.outbox_relay()


@shared_task(ignore_result=True, expires=60)
def heartbeat(source: str) -> None:
    """Proves to the health check that a worker runs (and, scheduled by beat every minute, that beat does)."""
    health.heartbeat_record(source)
