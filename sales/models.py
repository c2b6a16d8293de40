"""The rep's daily work: follow-ups (跟进记录), tasks and reminders, calendar appointments and orders.

Models keep data and the invariants the database can hold (check constraints, tenant-scoped unique constraints,
indexes that lead with the tenant). Workflows live in services.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel

from .querysets import AppointmentQuerySet, FollowUpQuerySet, OrderQuerySet, TaskQuerySet

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
    """One contact with a customer: a call, a visit, a WeChat message… with its outcome and the next step.

    Never deleted: the pool's fallback clock rests on these (customers.services.record_follow_up)."""

    Kind = FollowUpKind
    Outcome = FollowUpOutcome

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("customer")
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
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "-happened_at"], name="sales_fu_customer_idx"),
            models.Index(fields=["tenant", "author", "-happened_at"], name="sales_fu_author_idx"),
            models.Index(fields=["tenant", "-happened_at"], name="sales_fu_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.customer_id} · {self.happened_at:%Y-%m-%d %H:%M}"

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
