"""The outbox: a task call is a row of the caller's transaction, sent after commit, and sent once."""

import pytest
from django.db import transaction

from crm import tasks
from crm.models import OutboxTask
from crm.services.outbox import enqueue, outbox_relay, relay_one


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.deliver_message, "apply_async", lambda args, **options: calls.append(tuple(args)))
    return calls


@pytest.mark.django_db
def test_a_rolled_back_write_queues_nothing(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            enqueue(tasks.deliver_message, 1, 2)
            1 / 0  # noqa: B018
    assert not OutboxTask.objects.exists() and sent == []


@pytest.mark.django_db
def test_sent_after_commit_and_never_twice(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue(tasks.deliver_message, 1, 2)
        assert sent == []  # not before the commit
    assert sent == [(1, 2)]
    # A relay run, or the after-commit send again, finds nothing left.
    assert outbox_relay() == 0 and relay_one(row.pk) is False
    assert sent == [(1, 2)]


@pytest.mark.django_db
def test_a_refused_send_waits_and_the_relay_sends_in_order(monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    def down(args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(tasks.deliver_message, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue(tasks.deliver_message, 1, 1)
        enqueue(tasks.deliver_message, 1, 2)
    first.refresh_from_db()
    assert first.sent_at is None and first.attempts == 1 and "Connection refused" in first.last_error
    calls = []
    monkeypatch.setattr(tasks.deliver_message, "apply_async", lambda args, **options: calls.append(tuple(args)))
    assert outbox_relay() == 2 and calls == [(1, 1), (1, 2)]
    assert outbox_relay() == 0 and calls == [(1, 1), (1, 2)]
