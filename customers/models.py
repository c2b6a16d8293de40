"""Customers, contacts, tags, pools, identifiers (dedup), ownership history and sharing."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import ExtractDay, ExtractMonth, Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from crm.models import Role, Tenant, TenantModel, TenantQuerySet

from .querysets import ContactQuerySet, CustomerQuerySet, PoolQuerySet

credit_code_validator = RegexValidator(
    r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
    _("A unified social credit code has 18 characters: digits and capital letters (no I, O, S, V, Z)."),
)


# The cover of a signed contract that has no end date.
CONTRACT_OPEN_ENDED = dt.date(9999, 12, 31)


class CustomerLevel(TenantModel):
    """A tenant's customer levels (e.g. A/B/C); imports map aliases such as 重点客户 to a level."""

    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=50)
    aliases = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("aliases"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("customer level")
        verbose_name_plural = _("customer levels")
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="customers_level_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}" if self.name and self.name != self.code else self.code


class Pool(TenantModel):
    """A public pool (公海): ownerless customers wait here to be claimed; its rules govern the customers whose
    home pool it is, while owned, and decide when they fall back (DESIGN.md §4)."""

    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default pool"), default=False)
    receives_deactivated = models.BooleanField(_("receives the customers of deactivated users"), default=False)
    teams = models.ManyToManyField(
        "crm.Team", through="PoolTeam", blank=True, related_name="pools", verbose_name=_("teams that see it")
    )
    no_followup_days = models.PositiveSmallIntegerField(
        _("falls back after days without follow-up"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_deal_days = models.PositiveSmallIntegerField(
        _("falls back after days without a deal"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_contract_days = models.PositiveSmallIntegerField(
        _("falls back this many days after its last contract ended"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A customer with a signed contract in effect never falls back. Once its last signed contract has "
            "ended, it falls back this many days after the end unless a new contract is signed; the follow-up "
            "and deal rules then no longer apply to it. Customers that never signed a contract keep the "
            "follow-up and deal rules. Empty: after a contract ends, the follow-up and deal rules apply again."
        ),
    )
    exempt_key_accounts = models.BooleanField(_("key accounts never fall back"), default=True)
    exempt_recent_deal_days = models.PositiveSmallIntegerField(
        _("a deal within this many days exempts"), null=True, blank=True, validators=[MinValueValidator(1)]
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
    daily_view_limit = models.PositiveSmallIntegerField(
        _("pool customers a rep may open per day"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    objects = PoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("pool")
        verbose_name_plural = _("pools")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="customers_pool_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="customers_pool_one_default"
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(receives_deactivated=True), name="customers_pool_one_receiver"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PoolTeam(TenantModel):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("crm.Team", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "team"], name="customers_poolteam_unique")]
        indexes = [models.Index(fields=["tenant", "team", "pool"], name="poolteam_team_idx")]


class PoolLevelRule(TenantModel):
    """Per-level rules of a pool (e.g. level A 60 days, level C 15 days); empty values use the pool's."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="level_rules")
    level = models.ForeignKey(CustomerLevel, on_delete=models.CASCADE, related_name="+", verbose_name=_("level"))
    no_followup_days = models.PositiveSmallIntegerField(
        _("days without follow-up"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_deal_days = models.PositiveSmallIntegerField(
        _("days without a deal"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    no_contract_days = models.PositiveSmallIntegerField(
        _("days after the last contract ended"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "level"], name="customers_poollevelrule_unique")]


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("color"), max_length=20, default="secondary")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="customers_tag_unique_name")]

    def __str__(self) -> str:
        return self.name


# The two halves of a tenant's live customers, as partial indexes say them.
OWNED = models.Q(deleted_at__isnull=True, owner__isnull=False)
IN_POOL = models.Q(deleted_at__isnull=True, owner__isnull=True)


class Customer(TenantModel):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")

    class Status(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        INTERESTED = "interested", _("Interested")
        CUSTOMER = "customer", _("Customer")
        LOST = "lost", _("Lost")

    # TenantModel's tenant without an index of its own: the unique (tenant, id) index, which the tenant's composite
    # foreign keys need anyway, leads with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"), db_index=False
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    # Pinyin of the name, for "zs" → 张三 and "zhangsan" → 张三 (prefix search, DESIGN.md §8).
    name_pinyin = models.CharField(max_length=600, blank=True, editable=False)
    name_initials = models.CharField(max_length=200, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.POTENTIAL)
    # Indexed with its tenant (cust_level_idx), not alone.
    level = models.ForeignKey(
        CustomerLevel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("level"),
        db_index=False,
    )
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    source = models.CharField(_("source"), max_length=50, blank=True)
    is_key_account = models.BooleanField(_("key account"), default=False)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[credit_code_validator]
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(
        Tag, through="CustomerTag", blank=True, related_name="customers", verbose_name=_("tags")
    )

    # Not indexed alone: owned rows are found through cust_owner_fk_idx and the (tenant, owner, …) list indexes, all
    # partial on "owned", so a customer falling back to the pool adds no entry to them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("owner"),
        db_index=False,
    )
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="customers", verbose_name=_("pool"))
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    # When it last came to a pool (released, fell back, created or imported into it, moved between pools or restored
    # there); NULL while owned. Pool health counts the waiting customers by it.
    pooled_at = models.DateTimeField(_("in the pool since"), null=True, blank=True, editable=False)
    last_followed_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    last_deal_at = models.DateTimeField(_("last deal"), null=True, blank=True)
    # The last day a signed contract covers (CONTRACT_OPEN_ENDED: a signed contract without an end date); NULL:
    # never signed a contract. Kept by customers.services.contract_cover from the sales app's contracts.
    contract_cover_until = models.DateField(_("contract cover until"), null=True, blank=True, editable=False)
    # Days added to the fallback clock by an approved extension; reset when the customer changes hands.
    extension_days = models.PositiveSmallIntegerField(_("extension days"), default=0)
    # The moment the fall-back job counts the customer as due (NULL: never as things stand — in a pool, no rule, an
    # exempt key account, an open-ended contract). Derived from the one predicate's date expression
    # (customers.selectors.pool.fallback_at_expression) by customers.services.fallback_date on every write that
    # changes it; the list sorts by it and the job selects by it.
    fallback_at = models.DateTimeField(_("falls back at"), null=True, blank=True, editable=False)

    # Values of the company's custom fields (crm.api.models.CustomField), validated by crm.api.services.custom_field.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # Indexed only where set (cust_deleted_by_fk_idx).
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [("share_customer", "Can share the customer")]
        indexes = [
            # Custom-field filters are JSONB containment lookups (custom @> {"key": value}).
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="cust_custom_gin"),
            # The list of a rep or a manager's team: one ordered scan per owner, sorted by name, last follow-up or
            # creation and then by id exactly as the list sorts, so a page is read off the index and several owners'
            # scans merge in order (customers.selectors.listing). Live owned rows only: every list reads
            # `visible_to`, which says "owned", and a customer falling back adds no entry to these.
            models.Index(
                fields=["tenant", "owner", "name", "id"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_owner_name_id_idx",
            ),
            # The sorts by last follow-up put "never" first (ascending, NULLS FIRST) or last (descending, NULLS
            # LAST, the same index read backwards), then by id: the index matches that order exactly, so a page is
            # read off it without sorting the tenant's rows.
            models.Index(
                F("tenant"),
                F("owner"),
                F("last_followed_up_at").asc(nulls_first=True),
                F("id"),
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_owner_followup_idx",
            ),
            models.Index(
                fields=["tenant", "owner", "created_at", "id"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_owner_created_id_idx",
            ),
            # The API's cursor pages (by id) of a rep's or a team's customers.
            models.Index(
                fields=["tenant", "owner", "id"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_owner_id_idx",
            ),
            # The tenant-wide sorts, each in two halves: over the owned customers (an admin's list) and over the pools'
            # (the pool list's sorts). A customer falling back then adds entries only to the small pool halves, never to
            # an index over the whole tenant (the fall-back job moves a tenth of the tenant at once).
            models.Index(fields=["tenant", "name"], condition=OWNED, name="cust_name_idx"),
            models.Index(fields=["tenant", "name"], condition=IN_POOL, name="cust_pool_name_idx"),
            models.Index(fields=["tenant", "created_at"], condition=OWNED, name="cust_created_idx"),
            models.Index(fields=["tenant", "created_at"], condition=IN_POOL, name="cust_pool_created_idx"),
            models.Index(
                F("tenant"),
                F("last_followed_up_at").asc(nulls_first=True),
                F("id"),
                condition=OWNED,
                name="cust_followup_idx",
            ),
            models.Index(
                F("tenant"),
                F("last_followed_up_at").asc(nulls_first=True),
                F("id"),
                condition=IN_POOL,
                name="cust_pool_followup_idx",
            ),
            models.Index(fields=["tenant", "last_deal_at"], condition=OWNED, name="cust_deal_idx"),
            # The sort by fall-back (soonest first, "never" last, then id) and the job's "due by tonight" range.
            models.Index(
                F("tenant"),
                F("fallback_at").asc(nulls_last=True),
                F("id"),
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_fallback_idx",
            ),
            models.Index(
                fields=["tenant", "pool", "created_at"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=True),
                name="cust_pool_idx",
            ),
            # The fallback job and the holdings cap: owned live customers per pool / per owner.
            models.Index(
                fields=["tenant", "pool", "owner"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=False),
                name="cust_owned_pool_idx",
            ),
            # The lists' filters over the owned customers (the pool list reads its tenth of the tenant off the pool
            # indexes and filters those rows): a customer falling back leaves them.
            models.Index(fields=["tenant", "status"], condition=OWNED, name="cust_status_idx"),
            models.Index(fields=["tenant", "level"], name="cust_level_idx"),
            # The owner's foreign key (a user's deletion looks for their customers); pool rows are not in it.
            models.Index(fields=["owner"], condition=models.Q(owner__isnull=False), name="cust_owner_fk_idx"),
            # Pool health: the customers waiting in each pool, counted per bucket of time in the pool off the index.
            models.Index(
                fields=["tenant", "pool", "pooled_at"],
                condition=models.Q(deleted_at__isnull=True, owner__isnull=True),
                name="cust_pooled_idx",
            ),
            models.Index(fields=["tenant", "industry"], condition=OWNED, name="cust_industry_idx"),
            models.Index(fields=["tenant", "region"], condition=OWNED, name="cust_region_idx"),
            models.Index(fields=["tenant", "source"], condition=OWNED, name="cust_source_idx"),
            # Who deleted it (a user's deletion looks for them): only customers in the bin have one.
            models.Index(
                fields=["deleted_by"], condition=models.Q(deleted_by__isnull=False), name="cust_deleted_by_fk_idx"
            ),
            models.Index(
                fields=["tenant", "deleted_at"], condition=models.Q(deleted_at__isnull=False), name="cust_trash_idx"
            ),
            # Name prefix search (杭州…), whatever the database's collation. Over every row, not only the owned ones: a
            # list of several owners' customers ANDs one of these with the owners' index (cust_owner_fk_idx), which
            # PostgreSQL does not do when both are partial on the same "owned" condition.
            models.Index("tenant", OpClass("name", name="varchar_pattern_ops"), name="cust_name_prefix_idx"),
            models.Index("tenant", OpClass("name_pinyin", name="varchar_pattern_ops"), name="cust_pinyin_idx"),
            models.Index("tenant", OpClass("name_initials", name="varchar_pattern_ops"), name="cust_initials_idx"),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="cust_name_trgm_idx"),
            # The pool's search: the same prefixes over the pool's customers only (a tenth of the tenant), so a name
            # common among held customers does not make the pool's search read them all.
            *(
                models.Index(
                    "tenant",
                    OpClass(column, name="varchar_pattern_ops"),
                    condition=models.Q(deleted_at__isnull=True, owner__isnull=True),
                    name=f"cust_pool_{short}_idx",
                )
                for column, short in (("name", "name_prefix"), ("name_pinyin", "pinyin"), ("name_initials", "initials"))
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A customer written into a pool without saying when came to it now (pool health's buckets read pooled_at).
        if self.owner_id is None and self.pooled_at is None and self._state.adding:
            self.pooled_at = timezone.now()
        super().save(*args, **kwargs)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None


class Holding(models.Model):
    """How many live customers (owned, not in the recycle bin) an owner holds: the holdings cap's figure, pool
    health's and the rep pickers'. Kept by the database itself, not by the app: statement-level triggers on
    customers_customer (migration 0026) add each INSERT, UPDATE or DELETE's net change per owner, one aggregate
    over the statement's transition tables however many rows it moved. A row stays at 0 once its owner holds
    nothing. `manage.py holdings` compares it with a real count and repairs it."""

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    held = models.IntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    # Written by triggers as customers are written: a tenant's restore rebuilds it from the customers, then puts the
    # archived rows in place of what the triggers wrote (crm.services.tenant_archive).
    derived_from = ("customers.Customer",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "owner"], name="customers_holding_unique_owner")]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.held}"


class CustomerTag(TenantModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customers_customertag_unique")]
        indexes = [models.Index(fields=["tenant", "tag", "customer"], name="cust_tag_idx")]


phone_hint = _("Mobile or landline; +86 may be left out.")


class Contact(TenantModel):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    # Stored normalized (E.164, e.g. +8613812345678).
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, help_text=phone_hint)
    phone = models.CharField(_("other phone"), max_length=20, blank=True, help_text=phone_hint)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    birthday = models.DateField(
        _("birthday"),
        null=True,
        blank=True,
        help_text=_("Born on 29 February: greeted on 28 February in years without a 29 February."),
    )
    # 农历生日: a lunar month and day, and whether that month is the year's leap month (闰月).
    lunar_birthday_month = models.PositiveSmallIntegerField(
        _("lunar birthday: month"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    lunar_birthday_day = models.PositiveSmallIntegerField(
        _("lunar birthday: day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("A 30th is greeted on the 29th in a lunar month of 29 days."),
    )
    lunar_birthday_leap = models.BooleanField(
        _("leap month (闰月)"),
        default=False,
        help_text=_("Born in a leap month: greeted in the ordinary month of that number in years without it."),
    )
    prefers_lunar_birthday = models.BooleanField(
        _("greet on the lunar birthday"),
        default=False,
        help_text=_("When both birthdays are known, greet on the lunar one (a contact is greeted once a year)."),
    )
    # Marketing consent (greetings, coupons): who may be messaged at all, and since when.
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    unsubscribe_source = models.CharField(_("unsubscribe source"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    # Erased on the person's request (个人信息保护法): the personal fields were anonymised, irreversibly; the
    # contact stays so the business records pointing at it (follow-ups, orders, tickets) keep their link.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    # The company's custom fields (Settings → Custom fields), by key; checked by crm.api.services.custom_field.
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_primary=True), name="customers_contact_one_primary"
            ),
            # A lunar birthday is a month and a day together, or neither.
            models.CheckConstraint(
                condition=(
                    models.Q(lunar_birthday_month__isnull=True, lunar_birthday_day__isnull=True)
                    | models.Q(
                        lunar_birthday_month__gte=1,
                        lunar_birthday_month__lte=12,
                        lunar_birthday_day__gte=1,
                        lunar_birthday_day__lte=30,
                    )
                ),
                name="customers_contact_lunar_birthday",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="contact_customer_idx"),
            GinIndex(fields=["custom"], opclasses=["jsonb_path_ops"], name="contact_custom_gin"),
            models.Index(fields=["tenant", "name"], name="contact_name_idx"),
            # The customer search's contact-name prefix, whatever the database's collation.
            models.Index("tenant", OpClass("name", name="varchar_pattern_ops"), name="contact_name_prefix_idx"),
            # The contact list (/contacts/): its search (phone and email exact, a mobile's tail, names contained)
            # and its sort by creation.
            models.Index(fields=["tenant", "mobile"], condition=~models.Q(mobile=""), name="contact_mobile_idx"),
            models.Index(fields=["tenant", "phone"], condition=~models.Q(phone=""), name="contact_phone_idx"),
            models.Index(fields=["tenant", "email"], condition=~models.Q(email=""), name="contact_email_idx"),
            models.Index("tenant", OpClass(Reverse("mobile"), name="varchar_pattern_ops"), name="contact_mobile_rev"),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="contact_name_trgm"),
            models.Index(fields=["tenant", "created_at"], name="contact_created_idx"),
            # The greeting job's set-based selection of today's birthdays (marketing.selectors.care).
            models.Index(
                models.F("tenant"),
                ExtractMonth("birthday"),
                ExtractDay("birthday"),
                condition=models.Q(birthday__isnull=False),
                name="contact_birthday_md_idx",
            ),
            models.Index(
                fields=["tenant", "lunar_birthday_month", "lunar_birthday_day"],
                condition=models.Q(lunar_birthday_month__isnull=False),
                name="contact_lunar_birthday_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerIdentifier(models.Model):
    """One normalized identifier of a live customer. The unique index makes duplicates impossible (防撞单):
    two concurrent creations of the same company cannot both commit. Rows exist for live customers only:
    moving a customer to the bin removes them, restoring re-inserts them (and so re-checks)."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        EMAIL = "email", _("email")
        COMPANY = "company", _("company name")
        CREDIT_CODE = "credit_code", _("unified social credit code")

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    value = models.CharField(max_length=300)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "value"], name="customers_identifier_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="ident_customer_idx"),
            # Phone suffix search ("5678" finds +8613812345678): a prefix match on the reversed value.
            models.Index(
                "tenant", OpClass(Reverse("value"), name="varchar_pattern_ops"), name="ident_value_reverse_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class OwnershipEvent(TenantModel):
    """Append-only history of who held a customer."""

    class Reason(models.TextChoices):
        CREATE = "create", _("Entered as a new customer")
        CLAIM = "claim", _("Claimed from the pool")
        ASSIGN = "assign", _("Assigned")
        TRANSFER = "transfer", _("Transferred")
        RELEASE = "release", _("Released to the pool")
        FALLBACK = "fallback", _("Fell back to the pool")
        RESTORE = "restore", _("Restored from the bin")
        DELETE = "delete", _("Moved to the bin")
        MERGE = "merge", _("Merged")
        EXTENSION = "extension", _("Extension approved")
        IMPORT = "import", _("Imported")

    # The keys a job's thousands of events leave empty (a fall-back has no actor, no creator, no new owner and no pool
    # it came from) are indexed only where set, and the tenant through owner_event_customer_idx: a fall-back writes
    # an event into six indexes rather than eleven.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"), db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        db_index=False,
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ownership_events")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    from_pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    to_pool = models.ForeignKey(Pool, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # Null actor = the system (a job).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ownership event")
        verbose_name_plural = _("ownership events")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "customer", "-at"], name="owner_event_customer_idx"),
            models.Index(fields=["tenant", "reason", "-at"], name="owner_event_reason_idx"),
            *(
                models.Index(
                    fields=[key], condition=models.Q(**{f"{key}__isnull": False}), name=f"owner_event_{key}_idx"
                )
                for key in ("actor", "created_by", "to_owner", "from_pool")
            ),
        ]


class CustomerUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's direct-foreign-key permission model for sharing, carrying the tenant (a join, not a
    generic lookup)."""

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+")
    content_object = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="shares")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object"], name="cust_share_user_idx")]

    def save(self, *args, **kwargs):
        # guardian's assign_perm creates rows knowing only user, permission and object: the tenant is the object's.
        if self.tenant_id is None:
            self.tenant_id = self.content_object.tenant_id
        super().save(*args, **kwargs)


class ExportJob(TenantModel):
    """A large export of a list, written by a job into media storage and downloaded by its requester."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # The export kind's key (crm.exports.ExportKind: customer, lead, opportunity, ticket…).
    kind = models.CharField(max_length=20, default="customer")
    format = models.CharField(max_length=4, default="csv")
    query = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    row_count = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="export_tenant_idx")]


class PoolView(TenantModel):
    """A rep opened a pool customer on a (tenant-local) day: counts against the pool's daily view limit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "customer", "day"], name="customers_poolview_unique")
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "pool", "day"], name="poolview_user_day_idx"),
            # A role or team quota counts a user's openings of the day in every pool.
            models.Index(fields=["tenant", "user", "day"], name="poolview_user_all_day_idx"),
        ]


class ViewQuota(TenantModel):
    """A daily limit on opening pool customers (their masked view) for the holders of a role, or for the members of
    a team and its sub-teams: "reps of 华东组 may open 20 pool customers a day". It counts the openings in every
    pool; a pool's own `daily_view_limit` counts its own. The tightest limit that applies to a user wins."""

    role = models.CharField(_("role"), max_length=10, blank=True, choices=Role.choices)
    team = models.ForeignKey(
        "crm.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    daily_limit = models.PositiveSmallIntegerField(
        _("pool customers a day"), validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )

    class Meta:
        verbose_name = _("view quota")
        verbose_name_plural = _("view quotas")
        ordering = ["role", "team__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "role"], condition=~models.Q(role=""), name="customers_viewquota_one_per_role"
            ),
            models.UniqueConstraint(
                fields=["tenant", "team"],
                condition=models.Q(team__isnull=False),
                name="customers_viewquota_one_per_team",
            ),
            models.CheckConstraint(
                condition=(models.Q(role="") & models.Q(team__isnull=False))
                | (~models.Q(role="") & models.Q(team__isnull=True)),
                name="customers_viewquota_role_or_team",
            ),
        ]

    def __str__(self) -> str:
        return str(self.team) if self.team_id else str(self.get_role_display())


class FallbackWarning(TenantModel):
    """One step of the warning ladder sent for a customer in one ownership period (sent once, ever)."""

    class Step(models.TextChoices):
        EARLY = "early", _("warned ahead")
        LAST_DAY = "last_day", _("warned one day ahead")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    owned_since = models.DateTimeField()
    step = models.CharField(max_length=10, choices=Step.choices)
    due_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "customer", "owned_since", "step"], name="customers_fallbackwarning_once"
            )
        ]


class ExtensionRequest(TenantModel):
    """A rep asks to keep a customer longer; the manager approves or declines through the approvals engine (the
    decision, who made it and when live on its approval request). Once per ownership period."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    owned_since = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "customer", "owned_since"], name="customers_extension_once_per_ownership"
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="extension_status_idx")]


# --- assignment rules (issue 7) ----------------------------------------------------------------------------------


class AssignmentSettings(TenantModel):
    """The tenant's assignment settings: where new customers that no rule places go."""

    unmatched_pool = models.ForeignKey(
        Pool,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pool for customers no rule places"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="customers_assignmentsettings_one")]


class AssignmentRule(TenantModel):
    """An ordered rule: new customers (and leads) matching its conditions go to a rep of its team, by round-robin
    or to the least-loaded rep, skipping inactive reps, reps at the tenant's cap and reps whose daily quota from
    this rule is used. Empty conditions match anything; within a condition any listed value matches."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin")
        LEAST_LOADED = "least_loaded", _("The least-loaded rep")

    class AppliesTo(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        LEADS = "leads", _("Leads")
        BOTH = "both", _("Customers and leads")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("enabled"), default=False)
    applies_to = models.CharField(_("applies to"), max_length=10, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    sources = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("sources"))
    regions = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("regions"))
    industries = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("industries"))
    levels = models.ManyToManyField(
        CustomerLevel, through="AssignmentRuleLevel", blank=True, related_name="+", verbose_name=_("levels")
    )
    tags = models.ManyToManyField(
        Tag, through="AssignmentRuleTag", blank=True, related_name="+", verbose_name=_("tags")
    )
    team = models.ForeignKey("crm.Team", on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    include_subteams = models.BooleanField(_("include the reps of its sub-teams"), default=True)
    method = models.CharField(_("method"), max_length=12, choices=Method.choices, default=Method.ROUND_ROBIN)
    daily_quota = models.PositiveSmallIntegerField(
        _("daily quota per rep"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    overflow_pool = models.ForeignKey(
        Pool,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("when no rep can take more"),
    )

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="customers_assignmentrule_unique_name")]
        indexes = [models.Index(fields=["tenant", "active", "order"], name="assign_rule_order_idx")]

    def __str__(self) -> str:
        return self.name


class AssignmentRuleLevel(TenantModel):
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="+")
    level = models.ForeignKey(CustomerLevel, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rule", "level"], name="customers_assignrulelevel_unique")
        ]


class AssignmentRuleTag(TenantModel):
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "rule", "tag"], name="customers_assignruletag_unique")]


class AssignmentCursor(TenantModel):
    """A rule's round-robin position: the rep who got the last record. Locked (SELECT … FOR UPDATE) by every
    assignment through the rule, so concurrent arrivals take turns instead of racing for the same "next" rep."""

    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "rule"], name="customers_assignmentcursor_one")]


class AssignmentLog(models.Model):
    """One record given to a rep by a rule on a (tenant-local) day: counts against the rule's daily quota.
    `record_kind` is "customer" or "lead"; `record_id` is known when the record existed at assignment time."""

    tenant = models.ForeignKey("crm.Tenant", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(AssignmentRule, on_delete=models.SET_NULL, null=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    record_kind = models.CharField(max_length=10)
    record_id = models.BigIntegerField(null=True, blank=True)
    day = models.DateField()
    at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "rule", "day", "user"], name="assign_log_quota_idx")]

    def __str__(self) -> str:
        return f"{self.record_kind}:{self.record_id} → {self.user_id} ({self.day})"


class PersonalDataReveal(TenantModel):
    """A user revealed a masked phone, email or WeChat id of a contact of a customer they do not own, or of a lead
    they do not own (个人信息保护法): who, whose, which field, when. The reveals of a (tenant-local) day count against
    the tenant's daily cap."""

    class Field(models.TextChoices):
        MOBILE = "mobile", _("mobile")
        PHONE = "phone", _("other phone")
        EMAIL = "email", _("email")
        WECHAT = "wechat", _("WeChat ID")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # A lead's reveal: the id of the sales lead (sales stands above customers, so no foreign key).
    lead_id = models.BigIntegerField(null=True, blank=True, editable=False)
    field = models.CharField(_("field"), max_length=10, choices=Field.choices)
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("personal data reveal")
        verbose_name_plural = _("personal data reveals")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "user", "day"], name="reveal_user_day_idx"),
            models.Index(fields=["tenant", "-created_at"], name="reveal_tenant_created_idx"),
            models.Index(fields=["tenant", "contact"], name="reveal_contact_idx"),
            models.Index(
                fields=["tenant", "lead_id"], condition=models.Q(lead_id__isnull=False), name="reveal_lead_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False, customer__isnull=False, lead_id__isnull=True)
                | models.Q(contact__isnull=True, customer__isnull=True, lead_id__isnull=False),
                name="customers_reveal_contact_or_lead",
            )
        ]


class ChoiceKind(models.TextChoices):
    """The customer and lead fields whose values come from a tenant-managed list."""

    REGION = "region", _("Region")
    INDUSTRY = "industry", _("Industry")
    SOURCE = "source", _("Source")


class ChoiceList(TenantModel):
    """How one of a tenant's value lists is used: whether a value outside the list is accepted ("other").

    A list with no active entry leaves its field free text. Otherwise forms offer the active entries (a select, or
    suggestions when `allow_other`), services refuse a new value outside the list unless `allow_other`, and imports
    map a cell to an entry by its value, English name or an alias; an unknown cell is refused with its reason, or
    kept as it is when `allow_other`."""

    kind = models.CharField(_("list"), max_length=10, choices=ChoiceKind.choices)
    allow_other = models.BooleanField(_("accept values outside the list"), default=False)

    class Meta:
        verbose_name = _("value list")
        verbose_name_plural = _("value lists")
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="customers_choicelist_unique_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


class ChoiceEntry(TenantModel):
    """One value of a tenant's list (region, industry or source): the text stored on customers and leads, its
    English name, the other spellings imports map to it, its place in the picker and whether it is offered."""

    kind = models.CharField(_("list"), max_length=10, choices=ChoiceKind.choices)
    value = models.CharField(_("value"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    aliases = ArrayField(models.CharField(max_length=50), default=list, blank=True, verbose_name=_("aliases"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("list value")
        verbose_name_plural = _("list values")
        ordering = ["kind", "order", "value"]
        indexes = [models.Index(fields=["tenant", "kind", "order"], name="choiceentry_kind_order_idx")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "value"], name="customers_choiceentry_unique_value")
        ]

    def __str__(self) -> str:
        return self.value
