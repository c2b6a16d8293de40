"""Lead pools (线索池): leads nobody owns wait here, seen by the teams each pool names; a pool's rules govern the
leads whose home pool it is, while owned, and decide when they fall back."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from customers.models import ExtensionRequest
from sales.querysets import LeadPoolQuerySet


class LeadPool(TenantModel):
    """A lead pool. `no_followup_days` (N days without a follow-up) and `no_conversion_days` (M days held without
    converting) are the defaults; `LeadPoolRule` sets other numbers per lead source."""

    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default lead pool"), default=False)
    teams = models.ManyToManyField(
        "crm.Team", through="LeadPoolTeam", blank=True, related_name="lead_pools", verbose_name=_("teams that see it")
    )
    no_followup_days = models.PositiveSmallIntegerField(
        _("falls back after days without follow-up"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_conversion_days = models.PositiveSmallIntegerField(
        _("falls back after days held without conversion"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    warn_days_before = models.PositiveSmallIntegerField(_("warn this many days before"), default=3)
    extension_days = models.PositiveSmallIntegerField(
        _("an approved extension postpones by (days)"), default=7, validators=[MinValueValidator(1)]
    )
    max_claims_per_day = models.PositiveSmallIntegerField(
        _("claims per rep per day"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    reclaim_cooldown_days = models.PositiveSmallIntegerField(
        _("days before a rep may re-claim what they lost"), default=0
    )

    objects = LeadPoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead pool")
        verbose_name_plural = _("lead pools")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="sales_leadpool_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="sales_leadpool_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LeadPoolTeam(TenantModel):
    pool = models.ForeignKey(LeadPool, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("crm.Team", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "team"], name="sales_leadpoolteam_unique")]
        indexes = [models.Index(fields=["tenant", "team", "pool"], name="leadpoolteam_team_idx")]


class LeadPoolRule(TenantModel):
    """A pool's numbers for the leads of one source (e.g. 官网 7 days), of one product line (the lead's product) or
    of one lead tag (e.g. leads tagged 展会 3 days); empty values use the pool's. On each clock a product line's
    rule comes first, then a tag's rule (of several tags, the fewest days), then a source's rule, then the pool's
    number (sales.selectors.lead_pool)."""

    pool = models.ForeignKey(LeadPool, on_delete=models.CASCADE, related_name="source_rules")
    source = models.CharField(_("lead source"), max_length=50, blank=True)
    product = models.ForeignKey(
        "sales.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product line"),
    )
    tag = models.ForeignKey(
        "customers.Tag", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tag")
    )
    no_followup_days = models.PositiveSmallIntegerField(
        _("days without follow-up"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_conversion_days = models.PositiveSmallIntegerField(
        _("days without conversion"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["source", "product_id", "tag_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "pool", "source"],
                condition=~models.Q(source=""),
                name="sales_leadpoolrule_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "pool", "product"],
                condition=models.Q(product__isnull=False),
                name="sales_leadpoolrule_unique_product",
            ),
            models.UniqueConstraint(
                fields=["tenant", "pool", "tag"],
                condition=models.Q(tag__isnull=False),
                name="sales_leadpoolrule_unique_tag",
            ),
            # A rule is for one source, one product line or one tag: exactly one of them.
            models.CheckConstraint(
                condition=(~models.Q(source="") & models.Q(product__isnull=True) & models.Q(tag__isnull=True))
                | (models.Q(source="") & models.Q(product__isnull=False) & models.Q(tag__isnull=True))
                | (models.Q(source="") & models.Q(product__isnull=True) & models.Q(tag__isnull=False)),
                name="sales_leadpoolrule_one_key",
            ),
        ]


class LeadOwnershipEvent(TenantModel):
    """Append-only history of who held a lead and which pool it waited in."""

    class Reason(models.TextChoices):
        CLAIM = "claim", _("Claimed from the lead pool")
        ASSIGN = "assign", _("Assigned from the lead pool")
        RELEASE = "release", _("Released to the lead pool")
        FALLBACK = "fallback", _("Fell back to the lead pool")
        POOL = "pool", _("Entered the lead pool")
        EXTENSION = "extension", _("Extension approved")

    lead = models.ForeignKey("sales.Lead", on_delete=models.CASCADE, related_name="ownership_events")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_pool = models.ForeignKey(LeadPool, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_pool = models.ForeignKey(LeadPool, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # Null actor = the system (a job).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "lead", "-at"], name="lead_owner_event_lead_idx"),
            # The daily claim counter: a rep's claims from a pool since local midnight.
            models.Index(fields=["tenant", "to_owner", "reason", "-at"], name="lead_owner_event_claim_idx"),
        ]


class LeadFallbackWarning(TenantModel):
    """One step of the warning ladder sent for a lead in one ownership period (sent once, ever)."""

    class Step(models.TextChoices):
        EARLY = "early", _("warned ahead")
        LAST_DAY = "last_day", _("warned one day ahead")

    lead = models.ForeignKey("sales.Lead", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    owned_since = models.DateTimeField()
    step = models.CharField(max_length=10, choices=Step.choices)
    due_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "lead", "owned_since", "step"], name="sales_leadfallbackwarning_once"
            )
        ]


class LeadExtensionRequest(TenantModel):
    """A rep asks to keep a lead longer; the manager decides through the approvals engine. Once per ownership
    period; the statuses are those of customers' extension requests."""

    lead = models.ForeignKey("sales.Lead", on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    owned_since = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=ExtensionRequest.Status.choices, default="pending")
    days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "lead", "owned_since"], name="sales_lead_extension_once_per_ownership"
            )
        ]
        # The managers' list: pending first, newest first.
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="lead_extension_status_idx")]
