import threading

import pytest
from django.core import mail
from django.db import connection

from crm.models import OutboundMessage
from crm.services.notification import MESSAGE_MAX_ATTEMPTS, message_deliver, notify

from ..conftest import build_world, wait_for, worker_settled


@pytest.mark.django_db(transaction=True)
def test_notification_email_is_delivered_by_a_real_worker(celery_worker):
    world = build_world("J")
    notify(recipient=world.rep1, title="回访提醒", body="给客户回个电话", url="/", key="job-test")
    assert wait_for(lambda: OutboundMessage.objects.filter(status="sent").exists()), "the worker did not deliver"
    message = OutboundMessage.objects.get()
    assert message.attempts == 1 and message.sent_at is not None
    assert [m.subject for m in mail.outbox] == ["回访提醒"]
    # Running the redelivery sweep afterwards sends nothing more.
    from crm.tasks import redeliver_queued_messages

    assert redeliver_queued_messages() == 0
    assert worker_settled()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliverers_at_once_send_one_email():
    world = build_world("K")
    for round_ in range(10):
        message = OutboundMessage.objects.create(
            tenant=world.tenant, to_address="x@k.test", subject=f"s{round_}", body="b", key=f"k{round_}"
        )
        barrier = threading.Barrier(4)
        results = []

        def deliver():
            try:
                barrier.wait()
                results.append(message_deliver(message_id=message.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r is not None for r in results) == 1
    assert len(mail.outbox) == 10
    assert OutboundMessage.objects.filter(status="sent").count() == 10


@pytest.mark.django_db
def test_failed_delivery_is_retried_with_backoff_then_marked_failed(world_a, settings):
    settings.EMAIL_BACKEND = "tests.crm.failing_email.Backend"
    message = OutboundMessage.objects.create(
        tenant=world_a.tenant, to_address="x@a.test", subject="s", body="b", key="f"
    )
    message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1 and "SMTP down" in message.last_error
    assert message.next_attempt_at > message.created_at
    # Not due yet: a second run does nothing.
    assert message_deliver(message_id=message.pk) is None
    for _ in range(MESSAGE_MAX_ATTEMPTS - 1):
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == MESSAGE_MAX_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_redelivery_sweep_reaches_every_tenant_through_a_real_worker(celery_worker):
    """The sweep runs as the app role: it asks each tenant in its own context and delivers per tenant."""
    from crm.tasks import redeliver_queued_messages

    worlds = [build_world("R"), build_world("S")]
    for world in worlds:
        OutboundMessage.objects.create(tenant=world.tenant, to_address=world.rep1.email, subject="s", body="b", key="k")
    redeliver_queued_messages.delay()
    assert wait_for(lambda: OutboundMessage.objects.filter(status="sent").count() == 2), "not every tenant's message"
    assert sorted(m.to for m in mail.outbox) == sorted([[w.rep1.email] for w in worlds])
