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
    monkeypatch.setattr(
        "crm.tasks.deliver_message.delay",
        lambda tenant_id, message_id: notification.message_deliver(message_id=message_id),
    )
    monkeypatch.setattr(
        "crm.tasks.deliver_messages.delay",
        lambda tenant_id, message_ids: [notification.message_deliver(message_id=pk) for pk in message_ids],
    )
