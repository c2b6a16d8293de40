"""Thin Celery tasks of the core app: they take ids and call services."""

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import OutboundMessage
from .services import health, notification, tenant
from .tenancy import TenantTask, tenants_having


@shared_task(base=TenantTask, acks_late=True, label=_("Sending an email"))
def deliver_message(tenant_id: int, message_id: int) -> str:
    message = notification.message_deliver(message_id=message_id)
    return message.status if message else "skipped"


def _due_messages():
    return OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now())


@shared_task
def purge_unverified_signups() -> int:
    """Dispatcher: one purge task per sign-up whose verification window has passed."""
    ids = tenant.unverified_tenant_ids()
    for pk in ids:
        purge_unverified_signup.delay(pk)
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
        redeliver_tenant_messages.delay(tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, label=_("Retrying unsent emails"))
def redeliver_tenant_messages(tenant_id: int) -> int:
    ids = list(_due_messages().filter(tenant_id=tenant_id).values_list("pk", flat=True)[:1000])
    for pk in ids:
        deliver_message.delay(tenant_id, pk)
    return len(ids)


@shared_task(ignore_result=True, expires=60)
def heartbeat(source: str) -> None:
    """Proves to the health check that a worker runs (and, scheduled by beat every minute, that beat does)."""
    health.heartbeat_record(source)
