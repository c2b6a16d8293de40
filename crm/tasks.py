"""Thin Celery tasks of the core app: they take ids and call services."""

from celery import shared_task
from django.utils import timezone

from .models import OutboundMessage
from .services import notification, tenant


@shared_task(acks_late=True)
def deliver_message(message_id: int) -> str:
    message = notification.message_deliver(message_id=message_id)
    return message.status if message else "skipped"


@shared_task
def purge_unverified_signups() -> int:
    """Dispatcher: one purge task per sign-up whose verification window has passed."""
    ids = tenant.unverified_tenant_ids()
    for pk in ids:
        purge_unverified_signup.delay(pk)
    return len(ids)


@shared_task(acks_late=True)
def purge_unverified_signup(tenant_id: int) -> bool:
    return tenant.tenant_purge_if_unverified(tenant_id=tenant_id)


@shared_task
def redeliver_queued_messages() -> int:
    """Pick up queued messages whose after-commit enqueue was lost, or whose retry is due."""
    ids = list(
        OutboundMessage.objects.filter(
            status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        deliver_message.delay(pk)
    return len(ids)
