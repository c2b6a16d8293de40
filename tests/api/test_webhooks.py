import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from crm.api import tasks
from crm.api.models import WebhookDelivery, WebhookEndpoint
from crm.api.services import webhook
from crm.api.services.webhook import webhook_deliver, webhook_endpoint_save, webhook_redeliver
from crm.errors import DomainError
from crm.models import Notification
from customers.services.customer import customer_create


class Receiver:
    """A local HTTP server that records what it receives and answers with `status`."""

    def __init__(self):
        self.received = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"nope")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def register(admin, url, events=("customer.created",)):
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        return webhook_endpoint_save(acting_user=admin, url=url, events=list(events))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/", "http://169.254.169.254/", "ftp://a.b/"],
)
def test_private_and_odd_addresses_are_refused(world_a, url):
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_save(acting_user=world_a.admin, url=url, events=["customer.created"])
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_only_admins_register_and_events_are_checked(world_a):
    with pytest.raises(DomainError) as refused:
        register(world_a.admin, "http://127.0.0.1:9/x", events=["customer.exploded"])
    assert refused.value.field == "events"
    with pytest.raises(PermissionDenied):
        register(world_a.manager, "http://127.0.0.1:9/x")


@pytest.mark.django_db
def test_event_writes_a_delivery_and_queues_it_after_commit(world_a, world_b, django_capture_on_commit_callbacks):
    endpoint = register(world_a.admin, "http://127.0.0.1:9/x")
    register(world_a.admin, "http://127.0.0.1:9/other", events=["lead.created"])
    register(world_b.admin, "http://127.0.0.1:9/b")
    with mock.patch.object(tasks.deliver_webhook, "apply_async") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            customer = customer_create(acting_user=world_a.rep1, data={"name": "云帆科技"})
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == endpoint and delivery.event == "customer.created"
    assert delivery.payload["id"] == customer.pk and delivery.payload["name"] == "云帆科技"
    queued.assert_called_once_with(args=[world_a.tenant.pk, delivery.pk], retry=False)


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_delivery_is_signed_and_sent_once(world_a, receiver):
    endpoint = register(world_a.admin, receiver.url)
    delivery = WebhookDelivery.objects.create(
        tenant=world_a.tenant, endpoint=endpoint, event="customer.created", payload={"id": 1, "name": "云帆"}
    )
    assert webhook_deliver(delivery_id=delivery.pk).status == WebhookDelivery.Status.SENT
    assert webhook_deliver(delivery_id=delivery.pk) is None  # claimed once: a second run sends nothing
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = hmac.new(
        endpoint.secret.encode(), f"{headers['x-crm-timestamp']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-crm-signature"] == f"sha256={expected}"
    assert headers["x-crm-event"] == "customer.created"
    sent = json.loads(body)
    assert sent["id"] == str(delivery.event_id) and sent["data"] == {"id": 1, "name": "云帆"}
    delivery.refresh_from_db()
    assert delivery.response_code == 200 and delivery.delivered_at is not None


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_failures_back_off_then_switch_the_endpoint_off(world_a, receiver, monkeypatch):
    receiver.status = 500
    monkeypatch.setattr(webhook, "DISABLE_AFTER", 3)
    endpoint = register(world_a.admin, receiver.url)
    delivery = WebhookDelivery.objects.create(tenant=world_a.tenant, endpoint=endpoint, event="customer.created")
    first = webhook_deliver(delivery_id=delivery.pk)
    assert first.status == WebhookDelivery.Status.QUEUED and first.response_code == 500
    assert first.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert webhook_deliver(delivery_id=delivery.pk) is None  # not due yet
    for _attempt in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        webhook_deliver(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.failures == 3 and endpoint.disabled_at is not None
    assert Notification.objects.filter(recipient=world_a.admin, key__startswith="webhook-off:").count() == 1
    assert Notification.objects.filter(recipient=world_a.rep1, key__startswith="webhook-off:").count() == 0
    with pytest.raises(DomainError):
        webhook_redeliver(acting_user=world_a.admin, delivery=delivery)


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_redeliver_and_the_retry_dispatcher(world_a, django_capture_on_commit_callbacks):
    endpoint = register(world_a.admin, "http://127.0.0.1:9/x")
    delivery = WebhookDelivery.objects.create(
        tenant=world_a.tenant, endpoint=endpoint, event="customer.created", status="failed", attempts=6
    )
    with mock.patch.object(tasks.deliver_webhook, "apply_async") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            webhook_redeliver(acting_user=world_a.admin, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "queued" and delivery.attempts == 0
    queued.assert_called_once_with(args=[world_a.tenant.pk, delivery.pk], retry=False)
    with mock.patch.object(tasks.redeliver_tenant_webhooks, "apply_async") as dispatched:
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.redeliver_due_webhooks() == 1
    dispatched.assert_called_once_with(args=[world_a.tenant.pk], retry=False)


# --- pages ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_are_for_admins_of_the_company(world_a, world_b, client_for):
    theirs = register(world_b.admin, "http://127.0.0.1:9/b")
    their_delivery = WebhookDelivery.objects.create(tenant=world_b.tenant, endpoint=theirs, event="customer.created")
    assert client_for(world_a.rep1).get(reverse("api:webhooks")).status_code == 403
    own = register(world_a.admin, "http://127.0.0.1:9/a")
    assert client_for(world_a.manager).get(reverse("api:webhook_edit", args=[own.pk])).status_code == 403
    own.delete()
    admin = client_for(world_a.admin)
    assert admin.get(reverse("api:webhooks")).status_code == 200
    assert admin.get(reverse("api:webhook_edit", args=[theirs.pk])).status_code == 404
    assert admin.post(reverse("api:webhook_redeliver", args=[their_delivery.pk])).status_code == 404
    refused = admin.post(reverse("api:webhooks"), {"url": "http://127.0.0.1/x", "events": ["customer.created"]})
    assert refused.status_code == 422 and not WebhookEndpoint.objects.filter(tenant=world_a.tenant).exists()
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        created = admin.post(
            reverse("api:webhooks"),
            {"url": "http://127.0.0.1:9/x", "events": ["customer.created", "lead.created"], "is_active": "on"},
        )
    endpoint = WebhookEndpoint.objects.get(tenant=world_a.tenant)
    assert created.status_code == 302 and endpoint.events == ["customer.created", "lead.created"]
    page = admin.get(reverse("api:webhook_edit", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in page
