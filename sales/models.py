"""The rep's daily work: follow-ups (跟进记录), tasks and reminders, calendar appointments and orders; and the
sales funnel: leads (with scoring rules, a public web form and imports), pipelines with their stages, and
opportunities with their stage history.

Models keep data and the invariants the database can hold (check constraints, tenant-scoped unique constraints,
indexes that lead with the tenant). Workflows live in services.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import CURRENCY_CHOICES, TenantModel

from .querysets import (
    AppointmentQuerySet,
    FollowUpQuerySet,
    LeadQuerySet,
    OpportunityQuerySet,
    OrderQuerySet,
    StageQuerySet,
    TaskQuerySet,
)

# A follow-up's author may correct it for this long; after that it is part of the record.
FOLLOW_UP_EDIT_WINDOW = timedelta(hours=24)


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Phone call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    NOTE = "note", _("Note")


class FollowUpOutcome(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    UNREACHED = "unreached", _("Could not reach")


class FollowUp(TenantModel):
    """One contact with a customer, a lead or an opportunity: a call, a visit, a WeChat message… with its outcome
    and the next step. A follow-up on an opportunity also carries the opportunity's customer (it is part of the
    customer's history); one on a lead has no customer yet.

    Never deleted: the pool's fallback clock rests on these (customers.services.record_follow_up)."""

    Kind = FollowUpKind
    Outcome = FollowUpOutcome

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("customer"),
    )
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="follow_ups", verbose_name=_("lead")
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("opportunity"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    happened_at = models.DateTimeField(_("when"), default=timezone.now)
    content = models.TextField(_("what happened"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.NEUTRAL)
    next_step = models.CharField(_("next step"), max_length=500, blank=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-happened_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=FollowUpKind.values), name="sales_fu_kind"),
            models.CheckConstraint(condition=models.Q(outcome__in=FollowUpOutcome.values), name="sales_fu_outcome"),
            models.CheckConstraint(condition=~models.Q(content=""), name="sales_fu_content_required"),
            # About a customer or a lead; an opportunity's follow-up carries its customer too.
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(lead__isnull=False), name="sales_fu_subject"
            ),
            models.CheckConstraint(
                condition=models.Q(opportunity__isnull=True) | models.Q(customer__isnull=False),
                name="sales_fu_opportunity_has_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "-happened_at"], name="sales_fu_customer_idx"),
            models.Index(
                fields=["tenant", "lead", "-happened_at"],
                condition=models.Q(lead__isnull=False),
                name="sales_fu_lead_idx",
            ),
            models.Index(
                fields=["tenant", "opportunity", "-happened_at"],
                condition=models.Q(opportunity__isnull=False),
                name="sales_fu_opportunity_idx",
            ),
            models.Index(fields=["tenant", "author", "-happened_at"], name="sales_fu_author_idx"),
            models.Index(fields=["tenant", "-happened_at"], name="sales_fu_tenant_idx"),
        ]

    def __str__(self) -> str:
        subject = self.customer_id or f"lead {self.lead_id}"
        return f"{self.get_kind_display()} · {subject} · {self.happened_at:%Y-%m-%d %H:%M}"

    def editable_until(self):
        return self.created_at + FOLLOW_UP_EDIT_WINDOW


class Task(TenantModel):
    """Something to do by a time, for one person, optionally about a customer, with an optional reminder."""

    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_tasks", verbose_name=_("assignee")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("customer"),
    )
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="next_tasks", editable=False
    )
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    # Set, in the same transaction as the notification, by the reminder job; cleared when remind_at changes.
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done"), null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remind_at__isnull=True) | models.Q(remind_at__lte=models.F("due_at")),
                name="sales_task_remind_before_due",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="sales_task_title_required"),
        ]
        indexes = [
            # "My open tasks by due time" (list, widget, calendar).
            models.Index(
                fields=["tenant", "assignee", "due_at"],
                condition=models.Q(done_at__isnull=True),
                name="sales_task_open_idx",
            ),
            models.Index(fields=["tenant", "assignee", "-due_at"], name="sales_task_assignee_idx"),
            models.Index(fields=["tenant", "customer", "due_at"], name="sales_task_customer_idx"),
            # The reminder job: only pending reminders are in this index, so it stays small.
            models.Index(
                fields=["tenant", "remind_at"],
                condition=models.Q(remind_at__isnull=False, reminder_sent_at__isnull=True, done_at__isnull=True),
                name="sales_task_pending_remind_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()


class Appointment(TenantModel):
    """A calendar entry with a start and an end, a place, its owner and attendees (colleagues and contacts)."""

    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_appointments", verbose_name=_("owner")
    )
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("customer"),
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="AppointmentAttendee",
        through_fields=("appointment", "user"),
        related_name="+",
        blank=True,
        verbose_name=_("colleagues"),
    )
    contacts = models.ManyToManyField(
        "customers.Contact",
        through="AppointmentContact",
        through_fields=("appointment", "contact"),
        related_name="+",
        blank=True,
        verbose_name=_("contacts"),
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True, editable=False)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_at__gt=models.F("start_at")), name="sales_appt_end_after"),
            models.CheckConstraint(condition=~models.Q(title=""), name="sales_appt_title_required"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "owner", "start_at"],
                condition=models.Q(cancelled_at__isnull=True),
                name="sales_appt_owner_idx",
            ),
            models.Index(fields=["tenant", "customer", "start_at"], name="sales_appt_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class AppointmentAttendee(TenantModel):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="attendee_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "appointment", "user"], name="sales_appt_attendee_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "user", "appointment"], name="sales_appt_attendee_user_idx")]


class AppointmentContact(TenantModel):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "appointment", "contact"], name="sales_appt_contact_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "contact"], name="sales_appt_contact_idx")]


# Currencies an order may be in: the tenant's own, plus the few foreign ones Chinese SMEs commonly invoice in.
FOREIGN_ORDER_CURRENCIES = ("USD", "EUR", "HKD")
KNOWN_CURRENCIES = [code for code, _label in CURRENCY_CHOICES]


def order_currencies(tenant) -> list[str]:
    """The currencies `tenant` uses for orders, its own first."""
    return [tenant.currency, *(c for c in FOREIGN_ORDER_CURRENCIES if c != tenant.currency)]


class Order(TenantModel):
    """A purchase: the customer's history that feeds the pool's no-deal clock and the RFM scores."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="orders", verbose_name=_("customer")
    )
    ordered_on = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    reference = models.CharField(_("order number"), max_length=64, blank=True)
    items_text = models.TextField(_("items"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_order_amount_positive"),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_order_currency"),
            models.UniqueConstraint(
                fields=["tenant", "reference"], condition=~models.Q(reference=""), name="sales_order_unique_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""), name="sales_order_void_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-ordered_on"], name="sales_order_tenant_idx"),
            models.Index(fields=["tenant", "customer", "-ordered_on"], name="sales_order_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("product"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=Decimal("0")), name="sales_line_qty_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=Decimal("0")), name="sales_line_price"),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_line_name_required"),
        ]
        indexes = [models.Index(fields=["tenant", "order"], name="sales_line_order_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


# --- leads ---------------------------------------------------------------------------------------------------


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


class LeadOrigin(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    IMPORT = "import", _("Imported")
    WEB_FORM = "web_form", _("Web form")


class DuplicateKind(models.TextChoices):
    """Which identifier of a lead matched an existing lead or customer (the kinds of CustomerIdentifier)."""

    PHONE = "phone", _("phone")
    EMAIL = "email", _("email")
    COMPANY = "company", _("company name")


class Lead(TenantModel):
    """Someone who may become a customer: typed in, imported, or sent through the tenant's public web form.

    Duplicates are never refused (a person asking again is a buying signal): a lead whose phone, email or company
    matches an existing lead or customer is kept, flagged and linked to what it matches. `phone`, `email` and
    `company_key` are stored normalized (E.164, lowercase, folded company name) so that match is an index lookup.
    """

    Status = LeadStatus
    Origin = LeadOrigin

    name = models.CharField(_("name"), max_length=100)
    company = models.CharField(_("company"), max_length=200, blank=True)
    company_key = models.CharField(max_length=300, blank=True, editable=False)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    message = models.TextField(_("message"), blank=True)
    source = models.CharField(_("source"), max_length=50, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    origin = models.CharField(
        _("entered through"), max_length=10, choices=LeadOrigin.choices, default=LeadOrigin.MANUAL
    )
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disqualified_reason = models.CharField(_("reason for disqualifying"), max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("owner"),
    )
    score = models.IntegerField(_("score"), default=0)
    # The scoring rules that matched at the last scoring (the breakdown); kept by one UPDATE with the score.
    score_rules = ArrayField(models.BigIntegerField(), default=list, blank=True, editable=False)
    scored_at = models.DateTimeField(_("scored"), null=True, blank=True, editable=False)
    is_duplicate = models.BooleanField(_("duplicate"), default=False)
    duplicate_kind = models.CharField(max_length=10, choices=DuplicateKind.choices, blank=True)
    duplicate_of_lead = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates", editable=False
    )
    duplicate_of_customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    web_form = models.ForeignKey(
        "sales.LeadWebForm", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    import_job = models.ForeignKey(
        "imports.ImportJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # What the lead became (conversion): its customer (new or existing), contact and, optionally, opportunity.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        editable=False,
        verbose_name=_("customer"),
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    last_followed_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, editable=False)

    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=LeadStatus.values), name="sales_lead_status"),
            models.CheckConstraint(condition=models.Q(origin__in=LeadOrigin.values), name="sales_lead_origin"),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_lead_name_required"),
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.DISQUALIFIED) | ~models.Q(disqualified_reason=""),
                name="sales_lead_disqualified_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.CONVERTED)
                | models.Q(customer__isnull=False, converted_at__isnull=False),
                name="sales_lead_converted_has_customer",
            ),
            models.CheckConstraint(
                condition=models.Q(is_duplicate=False) | ~models.Q(duplicate_kind=""),
                name="sales_lead_duplicate_kind",
            ),
        ]
        indexes = [
            # The list: newest first, by owner (reps), by status, by score; unassigned ones for managers.
            models.Index(fields=["tenant", "-created_at"], name="sales_lead_tenant_idx"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_lead_owner_idx"),
            models.Index(fields=["tenant", "status", "-created_at"], name="sales_lead_status_idx"),
            models.Index(fields=["tenant", "owner", "-score"], name="sales_lead_owner_score_idx"),
            models.Index(fields=["tenant", "-score"], name="sales_lead_score_idx"),
            models.Index(
                fields=["tenant", "-created_at"],
                condition=models.Q(owner__isnull=True),
                name="sales_lead_unassigned_idx",
            ),
            models.Index(
                fields=["tenant", "-created_at"], condition=models.Q(is_duplicate=True), name="sales_lead_dup_idx"
            ),
            # The duplicate check and the search: exact normalized values, and a phone's tail.
            models.Index(fields=["tenant", "phone"], condition=~models.Q(phone=""), name="sales_lead_phone_idx"),
            models.Index(fields=["tenant", "email"], condition=~models.Q(email=""), name="sales_lead_email_idx"),
            models.Index(
                fields=["tenant", "company_key"], condition=~models.Q(company_key=""), name="sales_lead_company_idx"
            ),
            models.Index("tenant", OpClass(Reverse("phone"), name="varchar_pattern_ops"), name="sales_lead_phone_rev"),
            models.Index(fields=["tenant", "name"], name="sales_lead_name_idx"),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="sales_lead_name_trgm"),
            GinIndex(fields=["company"], opclasses=["gin_trgm_ops"], name="sales_lead_company_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.company}" if self.company else self.name

    @property
    def is_open(self) -> bool:
        return self.status not in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)

    @property
    def is_converted(self) -> bool:
        return self.status == LeadStatus.CONVERTED


class ScoringField(models.TextChoices):
    SOURCE = "source", _("Source")
    CAMPAIGN = "campaign", _("Campaign")
    ORIGIN = "origin", _("Entered through")
    COMPANY = "company", _("Company")
    TITLE = "title", _("Job title")
    INDUSTRY = "industry", _("Industry")
    REGION = "region", _("Region")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat ID")
    MESSAGE = "message", _("Message")


class ScoringCondition(models.TextChoices):
    EQUALS = "equals", _("is")
    ONE_OF = "one_of", _("is one of")
    CONTAINS = "contains", _("contains")
    STARTS_WITH = "starts_with", _("starts with")
    ENDS_WITH = "ends_with", _("ends with")
    IS_SET = "is_set", _("is filled in")
    IS_EMPTY = "is_empty", _("is empty")


# Conditions that compare with nothing.
VALUELESS_CONDITIONS = (ScoringCondition.IS_SET, ScoringCondition.IS_EMPTY)
MAX_RULE_POINTS = 1000


class LeadScoringRule(TenantModel):
    """An admin's rule: when a lead's field meets the condition, it scores the points (negative ones too).

    A lead's score is the sum over the active rules it meets; the rules become SQL (sales.leads.rule_condition), so
    scoring one lead and recomputing every lead of the tenant are the same single UPDATE."""

    Field = ScoringField
    Condition = ScoringCondition

    field = models.CharField(_("field"), max_length=12, choices=ScoringField.choices)
    condition = models.CharField(_("condition"), max_length=12, choices=ScoringCondition.choices)
    value = models.CharField(_("value"), max_length=200, blank=True)
    points = models.SmallIntegerField(_("points"))
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lead scoring rule")
        verbose_name_plural = _("lead scoring rules")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(field__in=ScoringField.values), name="sales_rule_field"),
            models.CheckConstraint(
                condition=models.Q(condition__in=ScoringCondition.values), name="sales_rule_condition"
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=-MAX_RULE_POINTS, points__lte=MAX_RULE_POINTS),
                name="sales_rule_points_range",
            ),
            models.CheckConstraint(
                condition=models.Q(condition__in=[c.value for c in VALUELESS_CONDITIONS]) | ~models.Q(value=""),
                name="sales_rule_value_required",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "position"], name="sales_rule_tenant_idx")]

    def __str__(self) -> str:
        if self.condition in VALUELESS_CONDITIONS:
            return f"{self.get_field_display()} {self.get_condition_display()}"
        return f"{self.get_field_display()} {self.get_condition_display()} “{self.value}”"


class WebFormField(models.TextChoices):
    NAME = "name", _("Name")
    COMPANY = "company", _("Company")
    TITLE = "title", _("Job title")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat ID")
    REGION = "region", _("Region")
    INDUSTRY = "industry", _("Industry")
    MESSAGE = "message", _("Message")


DEFAULT_WEB_FORM_FIELDS = ["name", "company", "phone", "email", "message"]


def default_web_form_fields() -> list[str]:
    return list(DEFAULT_WEB_FORM_FIELDS)


def default_web_form_required() -> list[str]:
    return ["name"]


class LeadWebForm(TenantModel):
    """The tenant's public lead form at /f/<tenant-slug>/lead/: which fields it asks for, what it says, and who
    receives the leads it brings (empty: unassigned, for managers to hand out)."""

    is_enabled = models.BooleanField(_("published"), default=False)
    title = models.CharField(_("heading"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    thank_you = models.TextField(_("thank-you message"))
    fields = ArrayField(
        models.CharField(max_length=10, choices=WebFormField.choices),
        default=default_web_form_fields,
        verbose_name=_("fields"),
    )
    required_fields = ArrayField(
        models.CharField(max_length=10, choices=WebFormField.choices),
        default=default_web_form_required,
        blank=True,
        verbose_name=_("required fields"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new leads go to"),
    )
    source = models.CharField(_("source of its leads"), max_length=50, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="sales_webform_one_per_tenant"),
            # A lead needs a name and a way to reach them.
            models.CheckConstraint(condition=models.Q(fields__contains=["name"]), name="sales_webform_has_name"),
            models.CheckConstraint(
                condition=models.Q(fields__contains=["phone"]) | models.Q(fields__contains=["email"]),
                name="sales_webform_has_contact_field",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# --- pipelines and opportunities -----------------------------------------------------------------------------


class Pipeline(TenantModel):
    """A sales process of the tenant (e.g. new business, renewals): its ordered stages, one won and one lost."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="sales_pipeline_unique_name")]
        indexes = [models.Index(fields=["tenant", "position"], name="sales_pipeline_tenant_idx")]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("opportunity status", "Open")
    WON = "won", pgettext_lazy("opportunity status", "Won")
    LOST = "lost", pgettext_lazy("opportunity status", "Lost")


class Stage(TenantModel):
    """A stage of a pipeline with its default win probability. Open stages are ordered by `position`; the won and
    the lost stage (exactly one of each per pipeline) close an opportunity and always come last."""

    Kind = StageKind

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    objects = StageQuerySet.as_manager()

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "pipeline", "name"], name="sales_stage_unique_name"),
            models.UniqueConstraint(
                fields=["tenant", "pipeline"], condition=models.Q(kind="won"), name="sales_stage_one_won"
            ),
            models.UniqueConstraint(
                fields=["tenant", "pipeline"], condition=models.Q(kind="lost"), name="sales_stage_one_lost"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=StageKind.values), name="sales_stage_kind"),
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="sales_stage_probability"),
            models.CheckConstraint(
                condition=~models.Q(kind=StageKind.WON) | models.Q(probability=100), name="sales_stage_won_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=StageKind.LOST) | models.Q(probability=0), name="sales_stage_lost_0"
            ),
            # Only open stages are archived; won and lost are part of every pipeline.
            models.CheckConstraint(
                condition=models.Q(is_active=True) | models.Q(kind=StageKind.OPEN), name="sales_stage_closed_active"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "pipeline", "position"], name="sales_stage_pipeline_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_won(self) -> bool:
        return self.kind == StageKind.WON

    @property
    def is_lost(self) -> bool:
        return self.kind == StageKind.LOST

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class Opportunity(TenantModel):
    """A possible deal with a customer, moving through the stages of a pipeline. `status` mirrors the kind of the
    current stage (open, won, lost) for the lists; every move is recorded in StageChange."""

    Status = StageKind

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="opportunities", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("owner")
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    # Empty: the stage's probability; reset to it whenever the opportunity changes stage.
    probability_override = models.PositiveSmallIntegerField(_("win probability (%)"), null=True, blank=True)
    lost_reason = models.CharField(_("reason it was lost"), max_length=300, blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("from lead")
    )
    # The order its winning recorded (one opportunity per order: a unique constraint that includes the tenant).
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="won_opportunities",
        verbose_name=_("order"),
    )
    last_followed_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=Decimal("0")), name="sales_opp_amount"),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_opp_currency"),
            models.CheckConstraint(condition=models.Q(status__in=StageKind.values), name="sales_opp_status"),
            models.CheckConstraint(
                condition=models.Q(probability_override__isnull=True) | models.Q(probability_override__lte=100),
                name="sales_opp_probability",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=StageKind.LOST) | ~models.Q(lost_reason=""), name="sales_opp_lost_reason"
            ),
            models.CheckConstraint(
                condition=models.Q(status=StageKind.OPEN) | models.Q(closed_at__isnull=False),
                name="sales_opp_closed_at",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_opp_name_required"),
            models.UniqueConstraint(
                fields=["tenant", "order"], condition=models.Q(order__isnull=False), name="sales_opp_one_per_order"
            ),
        ]
        indexes = [
            # The list and the board: by pipeline and stage, by owner, by status and expected close date.
            models.Index(fields=["tenant", "-created_at"], name="sales_opp_tenant_idx"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_opp_owner_idx"),
            models.Index(fields=["tenant", "stage", "-stage_entered_at"], name="sales_opp_stage_idx"),
            models.Index(fields=["tenant", "pipeline", "status"], name="sales_opp_pipeline_idx"),
            models.Index(fields=["tenant", "status", "expected_close_date"], name="sales_opp_status_close_idx"),
            models.Index(fields=["tenant", "customer", "-created_at"], name="sales_opp_customer_idx"),
            models.Index(
                fields=["tenant", "owner", "status", "expected_close_date"], name="sales_opp_owner_status_idx"
            ),
            models.Index(fields=["tenant", "name"], name="sales_opp_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def probability(self) -> int:
        if self.probability_override is not None:
            return self.probability_override
        return self.stage.probability

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))

    @property
    def is_open(self) -> bool:
        return self.status == StageKind.OPEN


class OpportunityLine(TenantModel):
    """An optional product line of an opportunity; with lines, the amount is their total (and so is the order's)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("product"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=Decimal("0")), name="sales_oppline_qty_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=Decimal("0")), name="sales_oppline_price"),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_oppline_name_required"),
        ]
        indexes = [models.Index(fields=["tenant", "opportunity"], name="sales_oppline_opp_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


class StageChange(TenantModel):
    """Append-only: an opportunity entered `to_stage` (from `from_stage`, empty when it was created) at `at`, moved
    by `by`, worth `amount` then. The funnel (how many reached each stage) and cycle times (time between rows) are
    read from these."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "opportunity", "at"], name="sales_stagechg_opp_idx"),
            # Funnel and cycle-time reports: entries into each stage over a period.
            models.Index(fields=["tenant", "to_stage", "at"], name="sales_stagechg_stage_idx"),
            models.Index(fields=["tenant", "pipeline", "at"], name="sales_stagechg_pipeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"
