"""The cache fails open: when Redis is unreachable, pages still render and writes still save.

Django's RedisCache raises on a refused or timed-out connection. TolerantRedisCache answers as if the key were
missing instead (get → default, add/set/incr → nothing stored), logs a warning, and stays quiet for
OUTAGE_LOG_SECONDS. What rests on the cache:
- django-ratelimit's limits (sign-up, the public lead form): with no count they let the request through
  (RATELIMIT_FAIL_OPEN in settings) — safe, as sign-up still needs email verification and the form its robot check;
- login throttling does not rest on it: django-axes counts failed logins (passwords and two-factor codes) in
  PostgreSQL, so lockouts keep holding — closed — while Redis is down.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

OUTAGE_LOG_SECONDS = 60


class TolerantRedisCache(RedisCache):
    _last_warning = 0.0

    def _unavailable(self, operation: str, exc: Exception):
        now = time.monotonic()
        if now - TolerantRedisCache._last_warning > OUTAGE_LOG_SECONDS:
            TolerantRedisCache._last_warning = now
            logger.warning("Cache unavailable (%s: %s): serving without it", operation, exc)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except (RedisError, OSError) as exc:
            self._unavailable("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except (RedisError, OSError) as exc:
            self._unavailable("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except (RedisError, OSError) as exc:
            self._unavailable("has_key", exc)
            return False

    def add(self, key, value, timeout=None, version=None):
        try:
            return super().add(key, value, timeout, version)
        except (RedisError, OSError) as exc:
            self._unavailable("add", exc)
            return False

    def set(self, key, value, timeout=None, version=None):
        try:
            super().set(key, value, timeout, version)
        except (RedisError, OSError) as exc:
            self._unavailable("set", exc)

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except (RedisError, OSError) as exc:
            self._unavailable("set_many", exc)
            return list(data)

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except (RedisError, OSError) as exc:
            self._unavailable("touch", exc)
            return False

    def incr(self, key, delta=1, version=None):
        # None (not ValueError): django-ratelimit reads it as "no count" and applies RATELIMIT_FAIL_OPEN.
        try:
            return super().incr(key, delta, version)
        except (RedisError, OSError) as exc:
            self._unavailable("incr", exc)
            return None

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except (RedisError, OSError) as exc:
            self._unavailable("delete", exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except (RedisError, OSError) as exc:
            self._unavailable("delete_many", exc)

    def clear(self):
        try:
            return super().clear()
        except (RedisError, OSError) as exc:
            self._unavailable("clear", exc)
            return False
