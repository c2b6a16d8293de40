"""The health checks: what they report about the database, Redis, the worker and beat, and their status codes."""

import socket

import pytest
import redis

from crm.services import health

from ..conftest import wait_for


@pytest.fixture
def clean_health_keys(settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(health.WORKER_KEY, health.BEAT_KEY, health.PING_PENDING_KEY)
    yield client
    client.delete(health.WORKER_KEY, health.BEAT_KEY, health.PING_PENDING_KEY)
    client.close()


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_answers_the_health_check_and_beat_is_late_until_it_ticks(
    client, celery_worker, clean_health_keys
):
    # No heartbeat yet: the check asks the worker and reports it failing for now.
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["failing"] == ["beat", "worker"]

    # The worker answers within seconds of being asked.
    assert wait_for(lambda: client.get("/healthz").json()["checks"]["worker"]["ok"])

    # What beat schedules every minute proves beat; then everything is well.
    from crm import tasks

    tasks.heartbeat.delay("beat")
    assert wait_for(lambda: client.get("/healthz").status_code == 200)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["beat"]["age_seconds"] < health.BEAT_LATE_AFTER


@pytest.mark.django_db
def test_a_late_worker_is_reported_and_asked_only_once(client, clean_health_keys, monkeypatch):
    asked = []
    monkeypatch.setattr(health.tasks.heartbeat, "apply_async", lambda *a, **k: asked.append(k))
    clean_health_keys.set(health.WORKER_KEY, "1000")  # decades old
    clean_health_keys.set(health.BEAT_KEY, "1000")
    for _ in range(3):
        body = client.get("/healthz").json()
        assert not body["checks"]["worker"]["ok"] and body["checks"]["worker"]["age_seconds"] > 60
    assert len(asked) == 1  # one ping in flight, however often monitors call


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_redis_down_fails_the_full_check_but_not_readiness_or_liveness(client, settings):
    port = _unused_port()  # nothing listens there
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": False, "detail": "ConnectionError"}
    assert set(body["failing"]) == {"redis", "worker", "beat"}
    assert client.get("/healthz/ready").status_code == 200
    assert client.get("/healthz/live").json() == {"status": "ok"}


def test_a_failing_database_fails_readiness(client, monkeypatch):
    monkeypatch.setattr(health, "database_check", lambda: health.Check(ok=False, detail="OperationalError"))
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": {"ok": False, "detail": "OperationalError"}}}


@pytest.mark.django_db
def test_health_checks_need_no_login_and_take_only_get(client):
    assert client.get("/healthz/live").status_code == 200
    assert client.post("/healthz/live").status_code == 405
    assert client.post("/healthz").status_code == 405
    assert "no-store" in client.get("/healthz/ready")["Cache-Control"]
