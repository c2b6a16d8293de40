"""Opportunities, their product lines and their stage history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel
from sales.models.lead import Lead
from sales.models.order import KNOWN_CURRENCIES, Order
from sales.models.pipeline import Pipeline, Stage, StageKind
from sales.querysets import (
    OpportunityQuerySet,
)

# The columns the opportunities' sums read (count, amount and weighted amount per stage and currency, narrowed by
# pipeline and owner): carried by the status indexes so that those sums never read the table.
SUMMED = ["pipeline", "stage", "currency", "amount", "probability_override", "owner"]


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
    # The company's custom fields (Settings → Custom fields), by key; checked by crm.api.services.custom_field.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

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
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="sales_opp_custom_gin"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_opp_owner_idx"),
            # A board column's newest entries: the whole sort, ties on the moment included, so a column reads its
            # first cards and stops.
            models.Index(fields=["tenant", "stage", "-stage_entered_at", "-id"], name="sales_opp_stage_entered_idx"),
            models.Index(fields=["tenant", "pipeline", "status"], name="sales_opp_pipeline_idx"),
            # By status, then expected close date or closed moment, each holding every column the sums read (the
            # list's totals per currency, the board's column totals, the month's won and expected amounts): those
            # sums over the open opportunities or a period's closed ones are index-only scans, not a read of every
            # row of the table.
            # The moments too: a sum grouped by rate month reads COALESCE(closed_at, created_at).
            models.Index(
                fields=["tenant", "status", "expected_close_date"],
                include=[*SUMMED, "closed_at", "created_at"],
                name="sales_opp_status_close_sum_idx",
            ),
            models.Index(
                fields=["tenant", "status", "closed_at"],
                include=[*SUMMED, "created_at"],
                name="sales_opp_closed_sum_idx",
            ),
            models.Index(fields=["tenant", "customer", "-created_at"], name="sales_opp_customer_idx"),
            # The same for one owner's (a rep's, a manager's team's) opportunities.
            models.Index(
                fields=["tenant", "owner", "status", "expected_close_date"],
                include=[*SUMMED[:-1], "closed_at", "created_at"],
                name="sales_opp_owner_status_sum_idx",
            ),
            # A board column's newest entries among one owner's opportunities (the board of a rep or a manager).
            models.Index(
                fields=["tenant", "owner", "stage", "-stage_entered_at", "-id"],
                include=["pipeline", "status", "closed_at"],
                name="sales_opp_owner_stage_idx",
            ),
            models.Index(fields=["tenant", "name"], name="sales_opp_name_idx"),
            # The search (sales.filters.search_opportunities): the name by prefix and contained.
            models.Index(
                models.F("tenant"), OpClass("name", name="varchar_pattern_ops"), name="sales_opp_name_prefix_idx"
            ),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="sales_opp_name_trgm"),
            # The list's "largest amount" sort within a status (open by default), ties included.
            models.Index(fields=["tenant", "status", "-amount", "-id"], name="sales_opp_status_amount_idx"),
            # Reports: the funnel's cohort (created in a period, per pipeline).
            models.Index(fields=["tenant", "pipeline", "created_at"], name="sales_opp_pipeline_created_idx"),
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
    # The catalogue product sold (empty: a free-text line); its name and price are copied onto the line.
    product = models.ForeignKey(
        "sales.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
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
