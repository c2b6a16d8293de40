"""Thin Celery tasks of the core app: they take ids and call services."""

from celery import shared_task
from django.utils import timezone

from .models import OutboundMessage
from .services import notification


@shared_task(acks_late=True)
def deliver_message(message_id: int) -> str:
    message = notification.message_deliver(message_id=message_id)
    return message.status if message else "skipped"


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
