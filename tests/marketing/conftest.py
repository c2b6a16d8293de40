"""Fixtures of the customer-care tests."""

import pytest

from crm.services import notification


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    notification.sms_outbox.clear()
    yield
    notification.sms_outbox.clear()


@pytest.fixture
def deliver_now(monkeypatch):
    """Deliver after-commit messages at once instead of through the broker (the worker test covers the broker)."""
    # The outbox sends its calls with apply_async (crm.services.outbox).
    monkeypatch.setattr(
        "crm.tasks.deliver_message.apply_async",
        lambda args, **options: notification.message_deliver(message_id=args[1]),
    )
    monkeypatch.setattr(
        "crm.tasks.deliver_messages.apply_async",
        lambda args, **options: [notification.message_deliver(message_id=pk) for pk in args[1]],
    )
