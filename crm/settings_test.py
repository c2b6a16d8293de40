"""Test settings: the real PostgreSQL and Redis, with a Redis database and queue of the tests' own."""

from .settings import *  # noqa: F403
from .settings import CACHE_OPTIONS, DATABASE_OWNER, database, env

# The owner creates and fills the test database; the code under test runs as the app role (tests/conftest.py).
DATABASES = {"default": database(DATABASE_OWNER)}

TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
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
