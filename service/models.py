"""The service desk: tickets, their conversation, categories, SLA policies, dispatch rules and escalations.

A ticket's SLA clock is stored, not recomputed on read: `sla_spent_minutes` is the business time used up to
`sla_since` (the start of the running segment; None while paused), so a change of priority or of the working
calendar moves the deadlines but keeps the business time already used and the paused time already excluded.
The deadlines (`first_response_due_at`, `resolution_due_at`), the earliest of them (`due_at`), when it turns
"at risk" (`at_risk_at`) and when the escalation job must look at it next (`next_escalation_at`) are columns,
so lists sort and filter by them with an index and the job reads only due tickets.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import TenantModel
from service.querysets import TicketQuerySet


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    OPEN = "open", pgettext_lazy("ticket status", "Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WALK_IN = "walk_in", _("Walk-in")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    OTHER = "other", _("Other")


class TicketCategory(TenantModel):
    name = models.CharField(_("name"), max_length=80)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_category_unique_name")]

    def __str__(self) -> str:
        return self.name


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class ServiceSettings(TenantModel):
    """A tenant's service-desk settings, one row, created on first use; `last_number` is the ticket counter."""

    default_team = models.ForeignKey(
        "crm.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team for tickets no rule places"),
    )
    max_open_per_agent = models.PositiveSmallIntegerField(
        _("open tickets one agent may hold"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    reopen_days = models.PositiveSmallIntegerField(
        _("days in which a customer's reply reopens a resolved ticket"),
        default=7,
        validators=[MaxValueValidator(365)],
    )
    survey_on = models.BooleanField(_("send a satisfaction survey when a ticket is resolved"), default=True)
    survey_days = models.PositiveSmallIntegerField(
        _("days a satisfaction survey link stays valid"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    last_number = models.PositiveIntegerField(default=0, editable=False)
    # What a mail provider sends with each message it posts to /inbound/email/<company>/ (X-Inbound-Secret).
    inbound_secret = models.CharField(max_length=64, default=new_secret, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="service_settings_one")]


class AgentPresence(TenantModel):
    """Whether an agent is away (dispatch skips them); no row means on duty."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    away = models.BooleanField(_("away"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="service_presence_one")]


class SlaPolicy(TenantModel):
    """Targets in business minutes for a priority, optionally for one customer level (which wins over the
    policy without a level)."""

    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    level = models.ForeignKey(
        "customers.CustomerLevel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer level"),
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"), validators=[MinValueValidator(1)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "priority", "level"], name="service_sla_unique", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=models.Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="service_sla_resolution_after_response",
                violation_error_message=_("The resolution target cannot be shorter than the first-response target."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_priority_display()} {self.level or ''}".strip()


class DispatchRule(TenantModel):
    """An ordered rule: a new ticket matching every condition it sets goes to its team, then to one of the team's
    agents on duty (round-robin or the least loaded), within the tenant's cap of open tickets per agent."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin")
        LEAST_LOADED = "least_loaded", _("The least-loaded agent")
        QUEUE = "queue", _("Leave in the team's queue")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("enabled"), default=True)
    category = models.ForeignKey(
        TicketCategory, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("category")
    )
    priorities = ArrayField(
        models.CharField(max_length=8, choices=Priority.choices), default=list, blank=True, verbose_name=_("priorities")
    )
    channels = ArrayField(
        models.CharField(max_length=8, choices=Channel.choices), default=list, blank=True, verbose_name=_("channels")
    )
    level = models.ForeignKey(
        "customers.CustomerLevel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer level"),
    )
    keywords = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("keywords"))
    team = models.ForeignKey("crm.Team", on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    method = models.CharField(_("method"), max_length=12, choices=Method.choices, default=Method.ROUND_ROBIN)
    last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_rule_unique_name")]

    def __str__(self) -> str:
        return self.name


class Ticket(TenantModel):
    Priority = Priority
    Status = Status
    Channel = Channel

    number = models.PositiveIntegerField(_("number"), editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("contact"),
    )
    category = models.ForeignKey(
        TicketCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("category")
    )
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.PHONE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        "crm.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    tags = ArrayField(models.CharField(max_length=30), default=list, blank=True, verbose_name=_("tags"))
    dispatch_rule = models.ForeignKey(
        DispatchRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # Replies to the ticket's emails carry this token in the address (support+<token>@…).
    reply_token = models.CharField(max_length=32, editable=False)

    # The SLA clock (see the module docstring).
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    sla_spent_minutes = models.PositiveIntegerField(default=0, editable=False)
    sla_since = models.DateTimeField(null=True, blank=True, editable=False)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True, editable=False)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True, editable=False)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, editable=False)
    at_risk_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    # The company's custom fields (Settings → Custom fields), by key; checked by crm.api.services.custom_field.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="service_ticket_unique_number"),
            models.UniqueConstraint(fields=["tenant", "reply_token"], name="service_ticket_unique_token"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="ticket_status_created_idx"),
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="ticket_custom_gin"),
            models.Index(fields=["tenant", "assignee", "status", "due_at"], name="ticket_assignee_due_idx"),
            models.Index(fields=["tenant", "team", "status", "due_at"], name="ticket_team_due_idx"),
            # The desk's default list: unsolved tickets, the nearest deadline first (NULLS LAST, then the id).
            models.Index(
                fields=["tenant", "due_at", "id"],
                condition=models.Q(status__in=["new", "open", "pending"]),
                name="ticket_open_due_idx",
            ),
            models.Index(
                fields=["tenant", "next_escalation_at"],
                condition=models.Q(next_escalation_at__isnull=False),
                name="ticket_escalation_idx",
            ),
            models.Index(fields=["tenant", "customer", "created_at"], name="ticket_customer_idx"),
            # The list's other sorts, each with the id that breaks its ties, so a page is read in index order
            # whatever the status filter: newest or oldest first, recently updated, and due first over every
            # status (the "due" sort of solved tickets, or of all of them).
            models.Index(fields=["tenant", "-created_at", "-id"], name="ticket_created_id_idx"),
            models.Index(fields=["tenant", "-updated_at", "-id"], name="ticket_updated_idx"),
            models.Index(fields=["tenant", "due_at", "id"], name="ticket_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} {self.subject}"

    @property
    def display_number(self) -> str:
        return f"T-{self.number:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketMessage(TenantModel):
    """One entry of a ticket's conversation: the customer's message, an agent's public reply (emailed to the
    contact) or an internal note (never shown to the customer)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("From the customer")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"))
    # The Message-ID of the email it came in as or went out as (replies thread on it).
    message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="ticket_message_idx")]


def attachment_path(instance: TicketAttachment, filename: str) -> str:
    """A random name under the tenant's and ticket's folder: the uploader's file name is kept in `name` only, so it
    never reaches a path."""
    return f"service/{instance.tenant_id}/{instance.ticket_id}/{secrets.token_hex(16)}"


class TicketAttachment(TenantModel):
    """A file on a ticket, on one of its messages (the customer's, a reply or a note) or on the ticket itself (what
    an agent attached when opening it). Stored through Django's storage under a random name; served only by the
    access-checked download view."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="ticket_attachment_idx")]

    def __str__(self) -> str:
        return self.name


class CannedReply(TenantModel):
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["tenant", "title"], name="service_canned_unique_title")]

    def __str__(self) -> str:
        return self.title


class Escalation(TenantModel):
    """One escalation step taken on a ticket for one target: unique, so the job takes each step once even when two
    workers run it at once or it is rerun after a crash."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")

    class Step(models.TextChoices):
        AT_RISK = "at_risk", _("At risk")
        BREACHED = "breached", _("Breached")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    target = models.CharField(max_length=16, choices=Target.choices)
    step = models.CharField(max_length=8, choices=Step.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket", "target", "step"], name="service_escalation_once")
        ]


# --- satisfaction surveys (CSAT after a resolved ticket, NPS rounds) -----------------------------------------


class SatisfactionSurvey(TenantModel):
    """The CSAT survey of one resolved ticket: sent once to its contact, answered (1–5 and a comment) through a
    signed link until `expires_at`; answering again changes the answer. The agent, team and category are those of
    the ticket when it was resolved, so the results do not move when the ticket is reassigned later."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="surveys")
    contact = models.ForeignKey("customers.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey("crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    category = models.ForeignKey(TicketCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("link valid until"))
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    LOW = 2
    SATISFIED = 4

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket"], name="service_survey_one_per_ticket"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="service_survey_rating_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "answered_at"],
                condition=models.Q(answered_at__isnull=False),
                name="survey_answered_idx",
            ),
            models.Index(fields=["tenant", "agent", "answered_at"], name="survey_agent_idx"),
            models.Index(fields=["tenant", "team", "answered_at"], name="survey_team_idx"),
        ]

    @property
    def is_low(self) -> bool:
        return self.rating is not None and self.rating <= self.LOW


class NpsRound(TenantModel):
    """A relationship survey (0–10: how likely to recommend us) sent by an administrator to the contacts of the
    customers matching the customer list's filters; its responses are queued and sent at the tenant's rate."""

    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(_("audience"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("link valid until"))

    class Meta:
        verbose_name = _("NPS survey")
        verbose_name_plural = _("NPS surveys")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_nps_unique_name")]

    def __str__(self) -> str:
        return self.name


class NpsResponse(TenantModel):
    """One contact's invitation to an NPS round and its answer: `pending` until the throttled sender queues its
    message, then `sent`; `score` once answered (answering again changes it)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")

    round = models.ForeignKey(NpsRound, on_delete=models.CASCADE, related_name="responses")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "round", "contact"], name="service_nps_one_per_contact"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=10),
                name="service_nps_score_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "id"], condition=models.Q(status="pending"), name="nps_pending_idx"
            ),
            models.Index(fields=["tenant", "round", "answered_at"], name="nps_round_idx"),
        ]


# The knowledge base lives in its own module; importing it here registers its models with the app.
from service.kb_models import Article, ArticleCategory, ArticleLink, ArticleVersion  # noqa: E402, F401
