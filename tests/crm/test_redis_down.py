"""Redis down: a real, throwaway redis-server is stopped under the app. Pages still render, writes still save, rate
limits let requests through but login lockouts hold, and a job queued meanwhile waits in the outbox and runs once
when Redis is back."""

from __future__ import annotations

import socket
import subprocess

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django_ratelimit.core import is_ratelimited

from crm.celery import app
from crm.models import OutboundMessage, OutboxTask
from crm.services.notification import notify
from crm.services.outbox import outbox_relay
from crm.tasks import relay_outbox
from customers.models import Customer

from ..conftest import build_world, wait_for, worker_settled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test's own, on a spare port, stopped and started again at will."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        conn = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        try:
            return bool(conn.ping())
        except redis.exceptions.ConnectionError:
            return False
        finally:
            conn.close()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        assert wait_for(self.answers, timeout=20), "the throwaway redis-server did not start"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=20)
        assert not self.answers()


def _reset_broker_connections() -> None:
    # The Celery app keeps its broker connections pooled; after a change of broker URL, new ones are opened.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def throwaway_redis(tmp_path, settings):
    # Celery reads Django's settings live: the broker URL of the tests, before it is changed below.
    previous = app.conf.broker_url
    server = ThrowawayRedis(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "crm.cache.TolerantRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "crm-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.CELERY_BROKER_URL = server.url
    app.conf.broker_url = server.url
    _reset_broker_connections()
    yield server
    if server.process.poll() is None:
        server.stop()
    app.conf.broker_url = previous
    _reset_broker_connections()
    assert app.conf.broker_url == previous


@pytest.mark.django_db(transaction=True)
def test_pages_and_writes_work_without_redis_and_the_queued_job_runs_once_it_is_back(throwaway_redis, settings):
    settings.AXES_FAILURE_LIMIT = 3
    world = build_world("RD")
    throwaway_redis.stop()

    # Pages render and writes save.
    client = Client()
    client.force_login(world.rep1)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("customers:list")).status_code == 200
    response = client.post(
        reverse("customers:create"),
        {"kind": "company", "name": "宁波海曙远航外贸有限公司", "status": "potential", "contact_name": "周敏"},
    )
    assert response.status_code == 302
    assert Customer.objects.filter(name="宁波海曙远航外贸有限公司", owner=world.rep1).exists()

    # A rate limit cannot count: it lets the request through.
    request = RequestFactory().post("/signup/", REMOTE_ADDR="198.51.100.20")
    assert is_ratelimited(request, group="crm:signup", key="ip", rate="1/h", increment=True) is False
    assert is_ratelimited(request, group="crm:signup", key="ip", rate="1/h", increment=True) is False

    # Login throttling does not rest on Redis: the lockout still holds.
    for _ in range(3):
        Client().post(reverse("login"), {"username": world.rep2.email, "password": "wrong"}, REMOTE_ADDR="10.9.9.9")
    locked = Client().post(
        reverse("login"), {"username": world.rep2.email, "password": "pw-123456"}, REMOTE_ADDR="10.9.9.9"
    )
    assert locked.status_code == 429

    # A write that queues a job: the message row is saved, its delivery waits in the outbox.
    with transaction.atomic():
        notify(recipient=world.rep1, title="客户周敏回电了", body="请今天回复", key="redis-down")
    message = OutboundMessage.objects.get(tenant=world.tenant, recipient=world.rep1)
    waiting = OutboxTask.objects.get(sent_at__isnull=True)
    assert waiting.task == "crm.tasks.deliver_message" and waiting.args == [world.tenant.pk, message.pk]
    assert waiting.attempts == 1 and waiting.last_error
    assert outbox_relay() == 0  # still down: nothing sent, nothing lost
    assert message.status == "queued" and not mail.outbox

    # Redis is back: beat's relay sends the waiting call, the worker delivers the message, once.
    throwaway_redis.start()
    _reset_broker_connections()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        relay_outbox.delay()
        assert wait_for(lambda: OutboundMessage.objects.get(pk=message.pk).status == "sent")
        relay_outbox.delay()  # a second relay finds nothing left to send
        assert worker_settled()
    assert OutboxTask.objects.get(pk=waiting.pk).sent_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [world.rep1.email]
    assert OutboundMessage.objects.get(pk=message.pk).attempts <= 1
