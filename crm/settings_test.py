"""Test settings: the real PostgreSQL and Redis, with a Redis database and queue of the tests' own.

Under pytest-xdist each worker (PYTEST_XDIST_WORKER = gw0, gw1, …) has its own test database (pytest-django adds
the worker's name to it) and its own Redis database: the one below TEST_REDIS_URL's, counting down (gw0 → 14 for
the default 15), so one worker's flush never empties another's queue or counters."""

import os
from urllib.parse import urlsplit, urlunsplit

from .settings import *  # noqa: F403
from .settings import CACHE_OPTIONS, DATABASE_OWNER, database, env


def worker_redis_url(url: str, worker: str) -> str:
    """`url` with the Redis database number of xdist worker `worker` ("" outside xdist: `url` itself)."""
    if not worker:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base - 1 - int(worker.removeprefix("gw"))
    if number < 0:
        raise ValueError(f"TEST_REDIS_URL's database {base} leaves no Redis database for xdist worker {worker}")
    return urlunsplit(parts._replace(path=f"/{number}"))


# The owner creates and fills the test database; the code under test runs as the app role (tests/conftest.py).
DATABASES = {"default": database(DATABASE_OWNER)}

TEST_REDIS_URL = worker_redis_url(
    env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15"), os.environ.get("PYTEST_XDIST_WORKER", "")
)
REDIS_URL = TEST_REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "crm.cache.TolerantRedisCache",
        "LOCATION": TEST_REDIS_URL,
        "KEY_PREFIX": "crm-test",
        "OPTIONS": CACHE_OPTIONS,
    }
}
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = "crm-test"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "crm.services.notification.LocmemSmsBackend"
SITE_URL = "http://testserver"
DEBUG = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"axes": {"level": "ERROR"}, "django.request": {"level": "ERROR"}},
}
