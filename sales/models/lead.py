"""Leads: people and companies that may buy, before they are customers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Reverse
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from sales.querysets import (
    LeadQuerySet,
)


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
    # The product line the lead asks about (one product of the catalogue); lead pools may set fall-back rules per
    # product line.
    product = models.ForeignKey(
        "sales.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product line"),
    )
    # The company's tags (customers.Tag, the same list as customers'); lead pools may set fall-back rules per tag.
    tags = models.ManyToManyField(
        "customers.Tag", through="LeadTag", blank=True, related_name="leads", verbose_name=_("tags")
    )
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
    # The visitor's consent to the privacy notice of the web form (个人信息保护法): when, to which version, and the
    # very text they agreed to, kept with the lead even after the notice changes.
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True, editable=False)
    consent_version = models.PositiveIntegerField(_("privacy notice version"), null=True, blank=True, editable=False)
    consent_text = models.TextField(_("privacy notice agreed to"), blank=True, editable=False)
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
    # The home lead pool: where the lead waits while nobody owns it, and whose rules govern it while owned
    # (sales.selectors.lead_pool). Null: no pool (leads from before lead pools, until a rule puts them in one).
    pool = models.ForeignKey(
        "sales.LeadPool",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        editable=False,
        verbose_name=_("lead pool"),
    )
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True, editable=False)
    extension_days = models.PositiveSmallIntegerField(default=0, editable=False)
    # The company's custom fields (Settings → Custom fields), by key; checked by crm.api.services.custom_field.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

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
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="sales_lead_custom_gin"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_lead_owner_idx"),
            models.Index(fields=["tenant", "status", "-created_at"], name="sales_lead_status_idx"),
            models.Index(fields=["tenant", "owner", "-score"], name="sales_lead_owner_score_idx"),
            models.Index(fields=["tenant", "-score"], name="sales_lead_score_idx"),
            models.Index(
                fields=["tenant", "-created_at"],
                condition=models.Q(owner__isnull=True),
                name="sales_lead_unassigned_idx",
            ),
            # The open leads nobody holds (the managers' home widget counts them, their list shows them): counted
            # off the index alone.
            models.Index(
                fields=["tenant", "-created_at"],
                condition=models.Q(owner__isnull=True, status__in=["new", "contacted", "qualified"]),
                name="sales_lead_unassigned_open_idx",
            ),
            models.Index(
                fields=["tenant", "-created_at"], condition=models.Q(is_duplicate=True), name="sales_lead_dup_idx"
            ),
            # A lead pool's page: the pool's unowned leads, newest first; the fall-back job: a pool's owned leads.
            models.Index(
                fields=["tenant", "pool", "-created_at"],
                condition=models.Q(owner__isnull=True, pool__isnull=False),
                name="sales_lead_in_pool_idx",
            ),
            models.Index(
                fields=["tenant", "pool", "owned_since"],
                condition=models.Q(owner__isnull=False, pool__isnull=False),
                name="sales_lead_pool_owned_idx",
            ),
            # The duplicate check and the search: exact normalized values, and a phone's tail.
            models.Index(fields=["tenant", "phone"], condition=~models.Q(phone=""), name="sales_lead_phone_idx"),
            models.Index(fields=["tenant", "email"], condition=~models.Q(email=""), name="sales_lead_email_idx"),
            models.Index(
                fields=["tenant", "company_key"], condition=~models.Q(company_key=""), name="sales_lead_company_idx"
            ),
            models.Index("tenant", OpClass(Reverse("phone"), name="varchar_pattern_ops"), name="sales_lead_phone_rev"),
            models.Index(fields=["tenant", "name"], name="sales_lead_name_idx"),
            # The search's name and company prefixes (杭州…), whatever the database's collation.
            models.Index("tenant", OpClass("name", name="varchar_pattern_ops"), name="sales_lead_name_prefix_idx"),
            models.Index(
                "tenant", OpClass("company", name="varchar_pattern_ops"), name="sales_lead_company_prefix_idx"
            ),
            # Campaign attribution: a campaign's leads by its code (marketing's campaign page and the list filter).
            models.Index(
                fields=["tenant", "campaign", "-created_at"],
                condition=~models.Q(campaign=""),
                name="sales_lead_campaign_idx",
            ),
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


class LeadTag(TenantModel):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey("customers.Tag", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "lead", "tag"], name="sales_leadtag_unique")]
        indexes = [models.Index(fields=["tenant", "tag", "lead"], name="lead_tag_idx")]
