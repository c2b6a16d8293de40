"""The health check: the database, Redis, the Celery worker and beat, and the heartbeats that prove the last two.

Each check is cheap enough to run every few seconds: one `SELECT 1`, one Redis round trip with a short timeout,
and two Redis keys that the worker writes when it runs `crm.tasks.heartbeat`. The worker's key is refreshed on
demand: a check that finds it older than WORKER_PING_EVERY queues a heartbeat (at most one in flight, guarded by a
short-lived Redis key), so a live worker answers within seconds of being asked. Beat's key is written by the
heartbeat that beat itself schedules every minute, so it goes stale when beat (or every worker) stops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import connection

from crm import tasks

WORKER_KEY = "health:worker"
BEAT_KEY = "health:beat"
PING_PENDING_KEY = "health:ping-pending"

# Seconds: a worker heartbeat older than this asks for a new one; older than WORKER_LATE_AFTER, the worker is late.
WORKER_PING_EVERY = 10
WORKER_LATE_AFTER = 60
# Beat schedules a heartbeat every minute: three missed minutes mean beat (or the worker running its jobs) stopped.
BEAT_LATE_AFTER = 180
REDIS_TIMEOUT = 0.5


@dataclass
class Check:
    ok: bool
    ms: float | None = None
    detail: str = ""
    age_seconds: float | None = None

    def as_dict(self) -> dict:
        data: dict = {"ok": self.ok}
        if self.ms is not None:
            data["ms"] = round(self.ms, 1)
        if self.age_seconds is not None:
            data["age_seconds"] = round(self.age_seconds, 1)
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class Health:
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.ok else "failing",
            "failing": sorted(name for name, check in self.checks.items() if not check.ok),
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
        }


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)


def database_check() -> Check:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 — any failure to answer is the finding
        return Check(ok=False, detail=type(error).__name__)
    return Check(ok=True, ms=(time.perf_counter() - started) * 1000)


def _age(value: bytes | None, now: float) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, now - float(value))
    except ValueError:
        return None


def health_report(*, ask_worker: bool = True) -> Health:
    """The state of every part the CRM needs; `ask_worker` queues a heartbeat when the worker's is getting old."""
    health = Health()
    health.checks["database"] = database_check()
    client = redis_client()
    try:
        started = time.perf_counter()
        try:
            worker_value, beat_value = client.mget(WORKER_KEY, BEAT_KEY)
        except redis.RedisError as error:
            unknown = "unknown while Redis is unreachable"
            health.checks["redis"] = Check(ok=False, detail=type(error).__name__)
            health.checks["worker"] = Check(ok=False, detail=unknown)
            health.checks["beat"] = Check(ok=False, detail=unknown)
            return health
        health.checks["redis"] = Check(ok=True, ms=(time.perf_counter() - started) * 1000)
        now = time.time()
        worker_age, beat_age = _age(worker_value, now), _age(beat_value, now)
        if ask_worker and (worker_age is None or worker_age > WORKER_PING_EVERY):
            _ask_worker(client)
    finally:
        client.close()
    health.checks["worker"] = Check(
        ok=worker_age is not None and worker_age <= WORKER_LATE_AFTER,
        age_seconds=worker_age,
        detail="" if worker_age is not None else "no heartbeat yet",
    )
    health.checks["beat"] = Check(
        ok=beat_age is not None and beat_age <= BEAT_LATE_AFTER,
        age_seconds=beat_age,
        detail="" if beat_age is not None else "no scheduled heartbeat yet",
    )
    return health


def _ask_worker(client: redis.Redis) -> None:
    try:
        if client.set(PING_PENDING_KEY, "1", nx=True, ex=WORKER_PING_EVERY):
            tasks.heartbeat.apply_async(args=("worker",), retry=False)
    except redis.RedisError:
        pass  # the Redis check reports it on the next call


def heartbeat_record(source: str) -> None:
    """Run by the worker: `source` is "worker" (asked by a health check) or "beat" (scheduled every minute). A beat
    heartbeat proves the worker too."""
    client = redis_client()
    try:
        now = str(time.time())
        values = {WORKER_KEY: now}
        if source == "beat":
            values[BEAT_KEY] = now
        client.mset(values)
        client.delete(PING_PENDING_KEY)
    finally:
        client.close()
