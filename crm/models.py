"""Core data: tenants, users, teams, audit events, notifications and outgoing messages."""

from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Length, Lower, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    REP = "rep", _("Sales rep")
    AGENT = "agent", _("Service agent")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


CURRENCY_CHOICES = [
    ("CNY", _("Chinese yuan (CNY)")),
    ("USD", _("US dollar (USD)")),
    ("EUR", _("Euro (EUR)")),
    ("HKD", _("Hong Kong dollar (HKD)")),
    ("JPY", _("Japanese yen (JPY)")),
]


def tenant_logo_path(tenant: Tenant, filename: str) -> str:
    """Where a company's logo is stored: under its own folder, named by a random token (never the uploaded name)."""
    extension = "png" if filename.lower().endswith(".png") else "jpg"
    return f"logos/{tenant.pk}/{secrets.token_hex(8)}.{extension}"


class Tenant(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES, default="CNY")
    phone_region = models.CharField(_("default phone region"), max_length=2, default="CN")
    # The public pool's tenant-wide cap on what one rep holds (DESIGN.md §4); empty means no cap.
    max_customers_per_rep = models.PositiveIntegerField(_("customers one rep may hold"), null=True, blank=True)
    # Admins of this company log in with a second factor (an authenticator app's code); operators always do.
    require_admin_two_factor = models.BooleanField(_("admins must use two-factor login"), default=False)
    # 个人信息保护法: how many masked phones and emails of others' customers one user may reveal a day (empty: no cap).
    daily_reveal_limit = models.PositiveIntegerField(
        _("reveals of masked contact data per user a day"), null=True, blank=True, default=50
    )
    # The company's logo on its quotes' and contracts' PDFs (PNG or JPEG, checked by crm.services.tenant).
    logo = models.FileField(_("logo"), upload_to=tenant_logo_path, blank=True, max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    # Signed up, its email not verified yet: inactive, nobody logs in, purged after SIGNUP_VERIFY_DAYS.
    awaiting_verification = models.BooleanField(_("awaiting email verification"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | None) -> TenantQuerySet:
        # Fail closed: no tenant means no rows, never the unfiltered table.
        if tenant is None:
            return self.none()
        return self.filter(tenant=tenant)

    def first_joined(self, limit: int, ordering: tuple, joined: tuple[str, ...] = ()) -> TenantQuerySet:
        """The first `limit` rows in `ordering`, chosen over this table alone (the ids of a top-N), then only those
        rows read with their `joined` relations (select_related), in the same order. A top-N over many matches (a
        search's 25,000 customers, to show 8) never joins every match first. Same rows as
        `self.select_related(*joined).order_by(*ordering)[:limit]`, one query."""
        first = self.order_by(*ordering).values("pk")[:limit]
        return self.model._base_manager.filter(pk__in=first).select_related(*joined).order_by(*ordering)


class TenantModel(models.Model):
    """Base of every tenant-owned row: its tenant, when it was made and changed, and by whom."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class UserQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | None) -> UserQuerySet:
        if tenant is None:
            return self.none()
        return self.filter(tenant=tenant)

    def with_role(self, role: str) -> UserQuerySet:
        return self.filter(roles__contains=[role])

    def with_any_role(self, *roles: str) -> UserQuerySet:
        return self.filter(roles__overlap=list(roles))


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> User:
        # Logins are case-insensitive, like the unique constraint on the email.
        return self.get(email__iexact=email)

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        extra["tenant"] = None
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="users", verbose_name=_("tenant")
    )
    email = models.EmailField(_("email"), max_length=254)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    roles = ArrayField(
        models.CharField(max_length=16, choices=Role.choices), default=list, blank=True, verbose_name=_("roles")
    )
    team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("team")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    # The user's own time zone for the times they read and their "today"; empty: the company's.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[validate_timezone])
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("operator staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="crm_user_email_ci_unique"),
            # Only the installation's operators (superusers) live outside every tenant.
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=False) | models.Q(is_superuser=True),
                name="crm_user_tenant_required_unless_superuser",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "full_name"], name="crm_user_tenant_name_idx")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = (self.email or "").strip().lower()

    def has_any_role(self, *roles: str) -> bool:
        """Whether the user holds at least one of `roles`: `user.has_any_role(Role.ADMIN, Role.MANAGER)`."""
        return not set(roles).isdisjoint(self.roles or [])

    @property
    def is_tenant_admin(self) -> bool:
        return self.is_active and self.tenant_id is not None and self.has_any_role(Role.ADMIN)

    @property
    def effective_language(self) -> str:
        if self.language:
            return self.language
        if self.tenant_id and self.tenant.language:
            return self.tenant.language
        return settings.LANGUAGE_CODE

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        """The zone the user reads times in: their own, else their company's (else the installation's)."""
        if self.time_zone:
            return zoneinfo.ZoneInfo(self.time_zone)
        if self.tenant_id:
            return self.tenant.tzinfo
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)

    def get_roles_display(self) -> str:
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(r, r)) for r in self.roles or [])


class TeamQuerySet(TenantQuerySet):
    def managed_by(self, user) -> TeamQuerySet:
        """The teams `user` manages and every team under them: one query, a prefix match on the path."""
        if not getattr(user, "is_authenticated", False) or user.tenant_id is None:
            return self.none()
        managed_roots = Team.objects.filter(
            tenant_id=user.tenant_id,
            manager=user,
            path=Substr(models.OuterRef("path"), 1, Length("path")),
        )
        return self.filter(tenant_id=user.tenant_id).filter(models.Exists(managed_roots))


class Team(TenantModel):
    """A node of the tenant's team tree. `path` is the materialized path ("/1/4/9/"), so a subtree is a prefix."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent team")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )
    path = models.CharField(max_length=255, editable=False, default="")

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "parent", "name"], name="crm_team_unique_name_per_parent", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "path"],
                name="crm_team_tenant_path_idx",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)


class AuditEvent(models.Model):
    """Append-only record of every change that matters. A database trigger refuses UPDATE and DELETE."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at"], name="crm_audit_tenant_at_idx"),
            # The privacy log lists exports and erasures by action, newest first.
            models.Index(fields=["tenant", "action", "-at"], name="crm_audit_tenant_action_idx"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="crm_audit_tenant_object_idx"),
            # The audit log lists every event but the per-object rows of an import, newest first...
            models.Index(
                models.F("tenant"),
                models.F("at").desc(),
                name="crm_audit_tenant_log_idx",
                condition=~models.Q(details__has_key="import"),
            ),
            # ... and lists those rows when the import's event is expanded.
            models.Index(
                models.F("tenant"),
                KeyTransform("import", "details"),
                name="crm_audit_tenant_import_idx",
                condition=models.Q(details__has_key="import"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class Notification(TenantModel):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # The title's and body's messages (crm.services.notification.message_spec), rendered again in the reader's
    # language when shown; empty for plain text, and for the notifications written before they were kept.
    message = models.JSONField(default=dict, blank=True, editable=False)
    # Idempotency key: a job that notifies twice under the same key creates one row.
    key = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "key"],
                condition=~models.Q(key=""),
                name="crm_notification_unique_key",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "recipient", "-created_at"], name="crm_notif_recipient_idx"),
            models.Index(
                fields=["tenant", "recipient"], condition=models.Q(read_at__isnull=True), name="crm_notif_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class OutboundMessage(TenantModel):
    """An email or SMS, written as a row first and delivered after commit (DESIGN.md §5)."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        ROBOT = "robot", _("Group robot")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Not sent: no marketing consent")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_address = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"))
    # Extra email headers, e.g. List-Unsubscribe on marketing mail.
    headers = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=200)
    # Marketing messages (care greetings, blasts, NPS) name the contact whose consent they need (a
    # customers.Contact id, not a key: crm never depends on customers); the messaging layer refuses them when the
    # contact has no consent or unsubscribed, when queued and again when delivered. Empty on transactional messages.
    consent_contact = models.BigIntegerField(null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="crm_outbound_unique_key")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="queued"), name="crm_outbound_queued_idx"
            ),
            models.Index(fields=["tenant", "status", "-created_at"], name="crm_outbound_tenant_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to_address}: {self.subject}"


def outbound_attachment_path(instance: OutboundAttachment, filename: str) -> str:
    """A random name under the tenant's folder: the file's own name is kept in `name` only."""
    return f"outbound/{instance.tenant_id}/{secrets.token_hex(16)}"


class OutboundAttachment(TenantModel):
    """A file an outgoing email carries (a ticket reply's attachments, a scheduled report's PDF), stored through
    Django's storage with the message row and attached when it is delivered."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=outbound_attachment_path, max_length=255)
    name = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("attachment of an outgoing message")
        verbose_name_plural = _("attachments of outgoing messages")
        ordering = ["pk"]
        indexes = [models.Index(fields=["tenant", "message"], name="crm_outbound_attachment_idx")]

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """A daily job ran for a tenant on a (tenant-local) day. Inserted in the job's own transaction, it makes a job
    scheduled hourly act once a day per tenant, at the first run after its local hour."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    job = models.CharField(max_length=64)
    day = models.DateField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "job", "day"], name="crm_jobrun_once_a_day")]

    def __str__(self) -> str:
        return f"{self.job} {self.day}"


class OutboxTask(models.Model):
    """A Celery task call, written in the transaction of the write that asks for it and sent to the broker after
    that transaction commits (crm.services.outbox). While Redis is down the row waits; the relay (after every
    commit, and every minute from beat) sends it once Redis answers again. It holds a task name and ids only."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="crm_outbox_pending_idx"
            ),
            models.Index(fields=["sent_at"], condition=models.Q(sent_at__isnull=False), name="crm_outbox_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class RobotChannel(TenantModel):
    """A group chat robot (企业微信群机器人, 钉钉自定义机器人, 飞书机器人) that chosen notifications of a team's members
    (or of the whole company, with no team) are posted to as well, through the outgoing messages
    (crm.services.notification)."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot")
        DINGTALK = "dingtalk", _("DingTalk robot")
        FEISHU = "feishu", _("Feishu robot")

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("webhook address"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=40), verbose_name=_("notifications"), default=list)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        indexes = [models.Index(fields=["tenant", "team"], name="crm_robot_tenant_team")]

    def __str__(self) -> str:
        return self.name


class ExchangeRate(TenantModel):
    """How much one unit of `currency` is worth in the tenant's own currency over a month (`month`, its first day),
    kept by the company's admins. Reports and campaign figures convert amounts in other currencies with the rate of
    the amount's month, else the latest month before it (crm/selectors/exchange_rate.py)."""

    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    month = models.DateField(_("month"))
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=6)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "currency", "month"], name="crm_exchangerate_once"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="crm_exchangerate_positive"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="crm_exchangerate_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.month:%Y-%m}: {self.rate}"
