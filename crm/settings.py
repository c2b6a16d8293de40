"""Settings for the CRM, read from the environment (django-environ).

Development defaults work against the local PostgreSQL and Redis; production sets DEBUG=False and the
security flags below through the environment, so `check --deploy` is clean there and plain http works here.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="dev-insecure-secret-key-change-me-in-production-0123456789abcdef" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "crm.apps.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "guardian",
    "django_filters",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crm",
    "crm.workcalendar",
    "crm.approvals",
    "crm.jobs",
    "crm.imports",
    "crm.savedviews",
    "crm.api",
    "customers",
    "sales",
    "service",
    "marketing",
    "reports",
]

MIDDLEWARE = [
    "crm.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.api.middleware.ApiTokenMiddleware",
    "crm.middleware.TenantMiddleware",
    "crm.middleware.TwoFactorMiddleware",
    "crm.middleware.HtmxLoginRedirectMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.crm",
            ],
        },
    },
]

# Two database roles (crm/rls.py). The owner (DATABASE_URL) owns the tables: it runs migrations and the operators'
# manage.py commands. The web server, the Celery worker and beat connect as the app role (DATABASE_APP_URL), which
# owns nothing and is held to row-level security; by default it is `crm_app` on the owner's database, no password
# (local trust authentication). DATABASE_ROLE says which one this process is: manage.py sets `owner`, except for
# runserver; everything else (gunicorn, celery) is `app`.
DATABASE_OWNER = env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crm")
DATABASE_APP = (
    env.db("DATABASE_APP_URL")
    if env.str("DATABASE_APP_URL", default="")
    else {**DATABASE_OWNER, "USER": "crm_app", "PASSWORD": ""}
)
DATABASE_ROLE = env.str("DATABASE_ROLE", default="app")
if DATABASE_ROLE not in ("app", "owner"):
    raise ImproperlyConfigured(f"DATABASE_ROLE must be 'app' or 'owner', not {DATABASE_ROLE!r}")


def database(role_settings: dict) -> dict:
    """A DATABASES entry for one of the two roles: every statement carries the tenant context (crm/database/), and
    no server-side cursors, which a transaction-mode pooler (PgBouncer) cannot keep across transactions."""
    return {
        **role_settings,
        "ENGINE": "crm.database",
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=0),
        "DISABLE_SERVER_SIDE_CURSORS": True,
    }


DATABASES = {"default": database(DATABASE_OWNER if DATABASE_ROLE == "owner" else DATABASE_APP)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The cache fails open (crm/cache.py): with Redis down, pages render and writes save; it gives up on Redis fast.
CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
CACHES = {
    "default": {
        "BACKEND": "crm.cache.TolerantRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="crm"),
        "OPTIONS": CACHE_OPTIONS,
    }
}
# django-ratelimit lets a request through when the cache cannot count it (Redis down); login throttling does not
# rest on the cache (django-axes keeps its counts in PostgreSQL), so lockouts still hold.
RATELIMIT_FAIL_OPEN = True

# The REST API (/api/v1/, crm/api/): personal tokens or the session, one JSON error shape, cursor pages, a request
# budget per token. Its docs (/api/docs/) load Swagger UI from our own static files (drf-spectacular-sidecar).
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")
# Webhooks to private, loopback or link-local addresses are refused (SSRF) unless the operator allows them.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.authentication.IsTenantUser"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.authentication.ApiTokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.ApiCursorPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "crm.api.filters.PageFilterBackend",
        "crm.api.filters.UpdatedSinceFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": "The CRM's REST API. Authenticate with a personal token: `Authorization: Bearer crm_…`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["crm.api.authentication.IsTenantUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"TicketStatusEnum": "service.models.Status"},
}

AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-guardian: no anonymous user row (tests flush the database; roles are code, not rows).
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-axes: lock the (username, IP) pair, never the IP alone, so one office behind one address is not locked out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form's field is "username" (it holds the email); lowercase it so "Li@x" and "li@x" count together.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "crm.auth.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address, one way for the whole app (crm.access.client_ip): the number of reverse proxies in front
# of the app, each appending to X-Forwarded-For. 0 (no proxy) reads the socket's address only.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "crm.access.client_ip"
# django-ratelimit's key="ip" reads the same resolver.
RATELIMIT_IP_META_KEY = "crm.access.client_ip"

# Two-factor login (django-otp): TOTP apps scan a QR code naming this issuer; a login waits this long for its code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CRM")
TWO_FACTOR_LOGIN_SECONDS = env.int("TWO_FACTOR_LOGIN_SECONDS", default=300)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our zh-hans number formats (crm/formats/): amounts grouped by thousands, as Chinese business documents write them.
FORMAT_MODULE_PATH = ["crm.formats"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CRM <noreply@crm.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMS goes through a small backend interface (a class with send(to=, body=)); the default writes to the log.
SMS_BACKEND = env.str("SMS_BACKEND", default="crm.services.notification.LogSmsBackend")
# Aliyun SMS (SMS_BACKEND=crm.services.notification.AliyunSmsBackend): an approved sign name and template whose one
# variable (SMS_ALIYUN_TEMPLATE_PARAM) takes the message text.
SMS_ALIYUN_ACCESS_KEY_ID = env.str("SMS_ALIYUN_ACCESS_KEY_ID", default="")
SMS_ALIYUN_ACCESS_KEY_SECRET = env.str("SMS_ALIYUN_ACCESS_KEY_SECRET", default="")
SMS_ALIYUN_SIGN_NAME = env.str("SMS_ALIYUN_SIGN_NAME", default="")
SMS_ALIYUN_TEMPLATE_CODE = env.str("SMS_ALIYUN_TEMPLATE_CODE", default="")
SMS_ALIYUN_TEMPLATE_PARAM = env.str("SMS_ALIYUN_TEMPLATE_PARAM", default="content")
SMS_ALIYUN_ENDPOINT = env.str("SMS_ALIYUN_ENDPOINT", default="https://dysmsapi.aliyuncs.com")
# Tencent Cloud SMS (SMS_BACKEND=crm.services.notification.TencentSmsBackend): an SMS app, an approved sign name and
# a template whose one parameter takes the message text.
SMS_TENCENT_SECRET_ID = env.str("SMS_TENCENT_SECRET_ID", default="")
SMS_TENCENT_SECRET_KEY = env.str("SMS_TENCENT_SECRET_KEY", default="")
SMS_TENCENT_SDK_APP_ID = env.str("SMS_TENCENT_SDK_APP_ID", default="")
SMS_TENCENT_SIGN_NAME = env.str("SMS_TENCENT_SIGN_NAME", default="")
SMS_TENCENT_TEMPLATE_ID = env.str("SMS_TENCENT_TEMPLATE_ID", default="")
SMS_TENCENT_REGION = env.str("SMS_TENCENT_REGION", default="ap-guangzhou")
SMS_TENCENT_ENDPOINT = env.str("SMS_TENCENT_ENDPOINT", default="https://sms.tencentcloudapi.com")

# Celery: at-least-once delivery; tasks are idempotent, so a redelivered task changes nothing more.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="crm")
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach Redis fails within seconds instead of hanging a page; the outbox keeps the call.
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# Imports (crm.imports): caps that keep any file from holding a process for long, each said in a clear error.
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_MB", default=20) * 1024 * 1024
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_MB", default=200) * 1024 * 1024
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=100)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# Files of up to this many rows are checked and imported within the request; larger ones by a Celery worker.
IMPORT_INLINE_MAX_ROWS = env.int("IMPORT_INLINE_MAX_ROWS", default=2000)
# A check or commit that has not moved for this long, with nobody holding its lock, is started again.
IMPORT_STALLED_AFTER_SECONDS = env.int("IMPORT_STALLED_AFTER_SECONDS", default=600)

# Product switches
SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=True)
# A signed-up company stays unusable until its email is verified; unverified ones are purged after this many days.
SIGNUP_VERIFY_DAYS = env.int("SIGNUP_VERIFY_DAYS", default=3)
# Prepared report files (large dashboard downloads) are deleted this many days after they were finished.
REPORT_FILE_RETENTION_DAYS = env.int("REPORT_FILE_RETENTION_DAYS", default=7)
SIGNUP_RATE = env.str("SIGNUP_RATE", default="5/h")
# Rate limits (django-ratelimit, per client address): "count/period", e.g. "10/10m".
LEAD_FORM_RATE = env.str("LEAD_FORM_RATE", default="10/10m")
# "Was this helpful?" votes on the public knowledge base, per address and article; how long its pages may be cached.
KB_VOTE_RATE = env.str("KB_VOTE_RATE", default="3/h")
KB_PUBLIC_MAX_AGE = env.int("KB_PUBLIC_MAX_AGE", default=300)
# Per user: searches by a whole phone number, email or credit code that match customers the user does not own
# (their phones and emails are masked); past it, such searches match only the user's own customers.
EXACT_SEARCH_RATE = env.str("EXACT_SEARCH_RATE", default="30/h")
# Satisfaction surveys: answers posted from one address (per client address), and NPS invitations one tenant
# sends a minute (the throttle of a round).
SURVEY_ANSWER_RATE = env.str("SURVEY_ANSWER_RATE", default="20/10m")
NPS_SEND_PER_RUN = env.int("NPS_SEND_PER_RUN", default=100)
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# Marketing blasts: messages a company sends per minute unless its marketing settings say otherwise.
MARKETING_BLAST_RATE_PER_MINUTE = env.int("MARKETING_BLAST_RATE_PER_MINUTE", default=100)
# The domain of the Message-IDs of ticket replies (the service desk threads the customer's mail on them).
SERVICE_MAIL_DOMAIN = env.str("SERVICE_MAIL_DOMAIN", default="crm.local")
# The address whose mail reaches the desk (a pipe alias into receive_email); replies carry it, with the ticket's
# token (support+<token>@…), as their Reply-To. Empty: no Reply-To, the threading headers alone.
SERVICE_REPLY_ADDRESS = env.str("SERVICE_REPLY_ADDRESS", default="")
# Messages one sender may send into a company's service desk per hour (more are dropped: mail loops, floods).
SERVICE_INBOUND_PER_SENDER = env.int("SERVICE_INBOUND_PER_SENDER", default=20)
# Outgoing email: the attachments one message may carry in all (base64 makes a mail a third larger than its
# files; most providers refuse mail over 25 MB). A message over it is not sent and says why.
OUTBOUND_ATTACHMENTS_MAX_BYTES = env.int("OUTBOUND_ATTACHMENTS_MAX_MB", default=15) * 1024 * 1024
# The largest raw email a mail provider may post to the service desk's inbound endpoint (that endpoint only: other
# requests keep DATA_UPLOAD_MAX_MEMORY_SIZE); a bigger one is answered 413.
SERVICE_INBOUND_MAX_BYTES = env.int("SERVICE_INBOUND_MAX_MB", default=25) * 1024 * 1024
# Ticket attachments: the largest file, how many files one message may carry, and the file types allowed (by name
# ending; the content must match the type where it has a known signature).
SERVICE_ATTACHMENT_MAX_BYTES = env.int("SERVICE_ATTACHMENT_MAX_MB", default=10) * 1024 * 1024
SERVICE_ATTACHMENT_MAX_FILES = env.int("SERVICE_ATTACHMENT_MAX_FILES", default=5)
SERVICE_ATTACHMENT_TYPES = env.list(
    "SERVICE_ATTACHMENT_TYPES",
    default=["pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "log", "csv", "docx", "xlsx", "pptx", "zip"],
)

# Security: driven by the environment so production is strict and local http still works.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp 4): scripts and styles only from our own static files, no inline code, no
# eval (htmx is configured not to eval, in base.html), no inline styles; nothing framed, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# LOG_FORMAT=json: one JSON object per line, from the web and the worker, with request_id, tenant_id and user_id
# (crm/logs.py). The worker then keeps this configuration instead of Celery's own.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "crm.logs.ContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s t=%(tenant_id)s u=%(user_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s %(user_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs each step of every PDF (reports) at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# What a task prints (the console email backend of a development run writes each email) is logged at INFO, not as
# a WARNING.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"

# Emails are unique case-insensitively through the crm_user_email_ci_unique constraint (Lower(email)), and the
# user manager looks logins up with iexact; Django's check only knows plain unique=True.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
AXES_VERBOSE = False
