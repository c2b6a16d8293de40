"""The API's rows: personal tokens (stored only as their SHA-256 digest), webhook endpoints and their deliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel

from .querysets import ApiTokenQuerySet


class ApiToken(TenantModel):
    """One personal token. The secret is shown once when it is made; the row keeps its digest, so a stolen database
    yields no usable token. A token acts as its user (the same records, roles and rules as the pages), limited to
    reading when its scope is `read`."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    # The token's first characters, shown in the list so a user can tell their tokens apart.
    prefix = models.CharField(_("prefix"), max_length=24)
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["tenant", "user", "-created_at"], name="api_token_tenant_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE


class WebhookEndpoint(TenantModel):
    """A URL of the company's other system that is told of chosen events, each delivery signed with the secret
    (HMAC-SHA256 over "<timestamp>.<body>"). Switched off after repeated failures; an admin switches it on again."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100)
    events = ArrayField(models.CharField(max_length=50), verbose_name=_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    # Failed attempts in a row; a success resets it.
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    disabled_at = models.DateTimeField(_("switched off"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        indexes = [models.Index(fields=["tenant", "is_active"], name="api_webhook_tenant_active")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantModel):
    """One event for one endpoint: written in the event's transaction, sent by a task, retried with backoff."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=50)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sending_since = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    last_error = models.TextField(_("error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="api_delivery_endpoint"),
            models.Index(fields=["tenant", "status", "next_attempt_at"], name="api_delivery_due"),
        ]


class IdempotencyKey(TenantModel):
    """A POST's `Idempotency-Key` and the answer it got: the same key again (a client's retry) gets that answer
    instead of creating twice. Unique per user, so two concurrent retries wait for each other on the index."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "key"], name="api_idempotency_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="api_idempotency_created")]


class CustomField(TenantModel):
    """A field a company's administrator adds to one kind of record. Values live in the record's `custom` JSONB
    column (GIN-indexed, so list filters are containment lookups), keyed by `key`, which never changes: renaming
    changes the label only, and removing archives the field, keeping every stored value."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        MONEY = "money", _("Amount of money")
        DATE = "date", _("Date")
        CHOICE = "choice", _("One of a list")
        MULTI = "multi", _("Several of a list")
        BOOLEAN = "boolean", _("Yes or no")

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        CONTACT = "contact", _("Contact")
        LEAD = "lead", _("Lead")
        OPPORTUNITY = "opportunity", _("Opportunity")
        TICKET = "ticket", _("Ticket")

    kind = models.CharField(_("record"), max_length=20, choices=Kind.choices)
    key = models.SlugField(_("key"), max_length=40, allow_unicode=False)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    choices = ArrayField(models.CharField(max_length=100), verbose_name=_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "key"], name="api_customfield_key")]
        indexes = [models.Index(fields=["tenant", "kind", "position"], name="api_customfield_kind")]

    def __str__(self) -> str:
        return self.label
