"""The greeting job through real `celery worker` processes, as production runs it (crm.settings, the app role and
its row-level security, the tests' own database, Redis database and queue): two workers taking the same tenant's
runs at once, and a worker killed (SIGKILL) in the middle of a run's transaction. Each contact is greeted exactly
once a year, with one coupon and one message."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from crm.celery import app
from crm.models import OutboundMessage
from crm.workcalendar.selectors import local_today
from marketing import tasks
from marketing.models import Coupon, Greeting

from ..conftest import build_world, wait_for
from .helpers import birthday_campaign, make_contact

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 30


class Workers:
    """Real worker processes on the test database and queue; each stopped (SIGTERM, a warm shutdown) or killed."""

    def __init__(self):
        self.processes: dict[str, subprocess.Popen] = {}
        db = connection.settings_dict
        owner = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_ROLE", "DATABASE_APP_URL")},
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DATABASE_URL": owner,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "WARNING",
        }

    def start(self, name: str) -> None:
        command = [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool=solo", "-n", f"{name}@%h"]
        command += ["--without-gossip", "--without-mingle", "-l", "WARNING"]
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def ready(self, count: int) -> bool:
        """Wait until `count` workers consume the test queue (answering a ping is not enough: a task sent before
        a worker consumes its queue may wait for the broker's visibility timeout)."""

        def consuming() -> int:
            queues = app.control.inspect(timeout=0.5).active_queues() or {}
            name = settings.CELERY_TASK_DEFAULT_QUEUE
            return sum(any(q["name"] == name for q in worker_queues) for worker_queues in queues.values())

        return wait_for(lambda: consuming() >= count, timeout=180)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@pytest.fixture
def workers(redis_test_db):
    w = Workers()
    yield w
    w.stop_all()


def waiting_for_a_lock() -> int:
    """Sessions waiting for a lock, asked from inside a transaction: the statistics snapshot is taken afresh."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def queue_empty() -> bool:
    conn = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return conn.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0
    finally:
        conn.close()


def birthdays_today(world) -> None:
    birthday_campaign(world.tenant, send_hour=0)
    today = local_today(world.tenant)
    born = today.replace(year=1990) if (today.month, today.day) != (2, 29) else dt.date(1992, 2, 29)
    for i in range(CONTACTS):
        make_contact(world.rep1 if i % 2 else world.rep2, f"寿星{i:02d}", birthday=born)


def all_sent() -> bool:
    return (
        Greeting.objects.count() == CONTACTS
        and OutboundMessage.objects.filter(key__startswith="greeting:", status="sent").count() == CONTACTS
        and queue_empty()
    )


def assert_greeted_once() -> None:
    assert Greeting.objects.count() == CONTACTS
    assert Greeting.objects.values("contact_id", "year").distinct().count() == CONTACTS
    assert Coupon.objects.count() == CONTACTS and Coupon.objects.values("code").distinct().count() == CONTACTS
    messages = OutboundMessage.objects.filter(key__startswith="greeting:")
    assert messages.count() == CONTACTS and messages.filter(status="sent", attempts=1).count() == CONTACTS


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_running_the_same_tenant_greet_each_contact_once(workers):
    world = build_world("W2")
    birthdays_today(world)
    workers.start("care1")
    workers.start("care2")
    assert workers.ready(2), "the worker processes did not start"
    # Beat's dispatcher twice and the tenant's run six times: the two workers take them at once.
    for _ in range(2):
        tasks.send_care_greetings.delay()
    for _ in range(6):
        tasks.send_tenant_care_greetings.delay(world.tenant.pk)
    assert wait_for(all_sent, timeout=180), "the greetings were not all sent"
    workers.stop_all()  # a warm shutdown: whatever a worker still held runs to its end first
    assert_greeted_once()


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_run_leaves_nothing_and_the_next_run_greets_each_contact_once(workers):
    world = build_world("WK")
    birthdays_today(world)
    workers.start("doomed")
    assert workers.ready(1), "the worker process did not start"
    with transaction.atomic():
        # Coupons cannot be written while this lock is held: the run inserts its greetings and then waits, inside
        # its transaction, until it is killed there.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE marketing_coupon IN SHARE MODE")
        tasks.send_tenant_care_greetings.delay(world.tenant.pk)
        assert wait_for(lambda: waiting_for_a_lock() >= 1), "the run did not reach the coupons"
        workers.kill("doomed")
    # The killed run's transaction never commits: nothing of it is left.
    assert Greeting.objects.count() == 0 and Coupon.objects.count() == 0 and not OutboundMessage.objects.exists()

    # The next run (beat's, an hour later) on a new worker does the whole of it, once.
    workers.start("next")
    assert workers.ready(1), "the second worker process did not start"
    tasks.send_care_greetings.delay()
    tasks.send_tenant_care_greetings.delay(world.tenant.pk)
    assert wait_for(all_sent, timeout=180), "the greetings were not all sent after the kill"
    workers.stop_all()
    assert_greeted_once()
