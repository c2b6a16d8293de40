"""Shared fixtures: two tenants, each with admin, manager, two reps in different teams and an agent."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.utils import translation

from crm import celery
from crm.models import Role

from . import app_role
from .factories import TeamFactory, TenantFactory, UserFactory

PASSWORD = "pw-123456"

# Two database roles, as in production (crm/rls.py). The test database is created, migrated and filled by the owner
# (DATABASE_URL, like an operator's commands): fixtures, factories and assertions run as the owner, which is not held
# to row-level security, so they reach every tenant's rows. The code under test runs as the app role: while a request
# is served (test client or live server, from request_started to request_finished) and while a real Celery worker
# runs a task (task_prerun to task_postrun), the serving thread's connection is switched to the app role with
# SET ROLE (tests/app_role.py). Row-level security, the app role's grants and the tenant context then apply exactly
# as under gunicorn and the worker: a page or task that forgets its tenant context finds no rows and fails its test.
# Services and tasks a test calls directly run as the owner. The owner must be allowed to SET ROLE to the app role
# (a superuser, as locally).
app_role.install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """Back to the owner before the database is cleaned up, even if a streamed response was never read to its end."""
    app_role.leave()
    yield


@dataclass
class World:
    """One tenant with a ready team tree and a user of every role."""

    tenant: object
    sales: object  # root team, managed by `manager`
    team1: object  # under sales: rep1
    team2: object  # under sales: rep2
    service_team: object
    admin: object
    manager: object
    rep1: object
    rep2: object
    agent: object


def build_world(prefix: str) -> World:
    tenant = TenantFactory(name=f"{prefix} 公司", slug=f"{prefix.lower()}-co")
    sales = TeamFactory(tenant=tenant, name=f"{prefix} 销售部")
    team1 = TeamFactory(tenant=tenant, parent=sales, name=f"{prefix} 一组")
    team2 = TeamFactory(tenant=tenant, parent=sales, name=f"{prefix} 二组")
    service_team = TeamFactory(tenant=tenant, name=f"{prefix} 客服部")
    p = prefix.lower()
    admin = UserFactory(tenant=tenant, email=f"admin@{p}.test", full_name=f"{prefix} 管理员", roles=[Role.ADMIN])
    manager = UserFactory(
        tenant=tenant, team=sales, email=f"manager@{p}.test", full_name=f"{prefix} 经理", roles=[Role.MANAGER]
    )
    sales.manager = manager
    sales.save(update_fields=["manager"])
    rep1 = UserFactory(
        tenant=tenant, team=team1, email=f"rep1@{p}.test", full_name=f"{prefix} 销售一", roles=[Role.REP]
    )
    rep2 = UserFactory(
        tenant=tenant, team=team2, email=f"rep2@{p}.test", full_name=f"{prefix} 销售二", roles=[Role.REP]
    )
    agent = UserFactory(
        tenant=tenant, team=service_team, email=f"agent@{p}.test", full_name=f"{prefix} 客服", roles=[Role.AGENT]
    )
    return World(tenant, sales, team1, team2, service_team, admin, manager, rep1, rep2, agent)


@pytest.fixture(autouse=True)
def english_by_default():
    """Each test starts in English: a request served earlier on this thread may have activated another language."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def world_a(db) -> World:
    return build_world("A")


@pytest.fixture
def world_b(db) -> World:
    return build_world("B")


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client logged in as that user (force_login: the login itself is tested elsewhere)."""

    def make(user):
        from django.test import Client

        c = Client()
        c.force_login(user)
        return c

    return make


def two_factor_login(client, user):
    """Log `client` in as `user` with a confirmed authenticator, the session verified as after the code step
    (operators' pages need it)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def redis_test_db():
    """The tests' own Redis database, flushed so no earlier test or `make run` worker leaves anything behind."""
    conn = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


def wait_for(predicate, timeout: float = 60.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False): for work done by a real worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # the interval between two looks at the state, not a wait for time
    return False


def sessions_waiting_for_a_lock() -> int:
    """How many other sessions on the test database wait for a lock (a row lock, a table lock) right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until_blocked(count: int = 1) -> bool:
    """Wait until `count` other sessions are blocked on a lock: a test that holds a row lock in one thread knows
    the other thread has reached it (and not merely started) before letting go."""
    return wait_for(lambda: sessions_waiting_for_a_lock() >= count)


@celery.app.task(name="tests.settled")
def settled(key: str, rounds: int) -> None:
    """Queue marker: each round goes to the back of the queue again; the last one writes `key` to Redis."""
    if rounds > 1:
        settled.delay(key, rounds - 1)
    else:
        conn = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        conn.set(key, "1", ex=600)
        conn.close()


def worker_settled(rounds: int = 3) -> bool:
    """Wait until the real worker has run everything queued so far, and what that queued, `rounds` levels deep.

    The test worker takes tasks one at a time from one FIFO queue, so a marker that has gone to the back of the
    queue `rounds` times has come after every task queued before it and every task those queued in turn (a
    dispatcher's per-tenant tasks, their deliveries). What a test then finds is final, without waiting for time.
    """
    key = f"tests:settled:{uuid.uuid4()}"
    settled.delay(key, rounds)
    conn = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return wait_for(lambda: conn.get(key) is not None)
    finally:
        conn.close()


@pytest.fixture
def celery_worker(redis_test_db):
    """A real Celery worker (solo pool, in a thread) on the tests' own Redis database."""
    from crm.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
