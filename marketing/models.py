"""Customer care: care campaigns (birthday, holiday, one-off), the greetings they send and the coupons those carry."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Role, Team, TenantModel, TenantQuerySet

PLACEHOLDER_HELP = _(
    "Placeholders: {{ contact.name }}, {{ customer.name }}, {{ coupon.code }}, {{ coupon.expires }}, "
    "{{ owner.name }}. Nothing else is allowed: no template tags, no other variables."
)


class CareCampaign(TenantModel):
    """A care campaign: who is greeted when, through which channel, with which message and coupon."""

    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("Birthday")
        HOLIDAY = "holiday", _("Holiday")
        ONE_OFF = "one_off", _("One-off")

    class DateKind(models.TextChoices):
        GREGORIAN = "gregorian", _("A Gregorian date every year")
        LUNAR = "lunar", _("A lunar date every year")
        STATUTORY = "statutory", _("The first day of a public holiday (China's official calendar)")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email, else SMS")
        SMS = "sms", _("SMS, else email")

    class CouponKind(models.TextChoices):
        NONE = "", _("No coupon")
        AMOUNT = "amount", _("Amount off")
        PERCENT = "percent", _("Percentage off")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BIRTHDAY)
    is_active = models.BooleanField(_("active"), default=True)
    # Holidays: a Gregorian or lunar month and day, or one of China's public holidays by its calendar name.
    date_kind = models.CharField(
        _("date"), max_length=10, choices=DateKind.choices, default=DateKind.GREGORIAN, blank=True
    )
    month = models.PositiveSmallIntegerField(
        _("month"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    day = models.PositiveSmallIntegerField(
        _("day"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    holiday = models.CharField(_("public holiday"), max_length=40, blank=True)
    # One-off campaigns: the local date they go out on.
    send_on = models.DateField(_("send on"), null=True, blank=True)
    send_hour = models.PositiveSmallIntegerField(
        _("send hour"),
        default=9,
        validators=[MaxValueValidator(23)],
        help_text=_("Local time of the company; greetings go out at the first run after this hour."),
    )
    send_minute = models.PositiveSmallIntegerField(
        _("send minute"),
        default=0,
        validators=[MaxValueValidator(59)],
        help_text=_("One-off campaigns go out at this minute of the hour; birthdays and holidays on the hour."),
    )
    # One-off campaigns: when the every-minute check sent it (empty until then; a new day or time empties it).
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    # Whose contacts: every customer's (empty), or the customers the customer list's filters pick — the same
    # FilterSet (customers.filters.CustomerFilter: level, tag, region, industry, status, owner) — and the owner's
    # team (with the teams under it), e.g. {"level": 3, "tag": 7, "region": "上海", "team": 2}.
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    email_subject = models.CharField(_("email subject"), max_length=200, blank=True, help_text=PLACEHOLDER_HELP)
    email_body = models.TextField(_("email text"), blank=True, help_text=PLACEHOLDER_HELP)
    sms_body = models.CharField(_("SMS text"), max_length=300, blank=True, help_text=PLACEHOLDER_HELP)
    coupon_kind = models.CharField(_("coupon"), max_length=8, choices=CouponKind.choices, default="", blank=True)
    coupon_value = models.DecimalField(
        _("coupon value"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    coupon_min_order = models.DecimalField(
        _("minimum order"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    coupon_valid_days = models.PositiveSmallIntegerField(
        _("coupon valid for (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )

    class Meta:
        verbose_name = _("care campaign")
        verbose_name_plural = _("care campaigns")
        ordering = ["kind", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="marketing_campaign_unique_name"),
            # Birthdays are always on: one birthday campaign per company.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(kind="birthday"), name="marketing_one_birthday_campaign"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "is_active", "kind"], name="campaign_active_idx"),
            # The every-minute check: the few one-off campaigns not sent yet.
            models.Index(
                fields=["tenant", "send_on"],
                condition=models.Q(kind="one_off", sent_at__isnull=True, is_active=True),
                name="campaign_one_off_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Greeting(TenantModel):
    """One greeting of one contact for one occasion. Unique on (campaign, contact, year): however often the job
    runs, a contact is greeted once per occasion. `year` is the occasion's year: the lunar year for a lunar
    birthday, else the Gregorian one. Contacts that may not be messaged get a skipped row with the reason."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Sent to the outbox")
        NO_CONSENT = "no_consent", _("Skipped: no marketing consent")
        UNSUBSCRIBED = "unsubscribed", _("Skipped: unsubscribed")
        NO_ADDRESS = "no_address", _("Skipped: no email or mobile")

    campaign = models.ForeignKey(
        CareCampaign, on_delete=models.CASCADE, related_name="greetings", verbose_name=_("campaign")
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="greetings", verbose_name=_("contact")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="greetings", verbose_name=_("customer")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    occasion = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=14, choices=Status.choices)
    channel = models.CharField(_("channel"), max_length=8, blank=True)
    message = models.ForeignKey(
        "crm.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("greeting")
        verbose_name_plural = _("greetings")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "campaign", "contact", "year"], name="marketing_greeting_once_a_year"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="greeting_log_idx"),
            models.Index(fields=["tenant", "campaign", "status"], name="greeting_campaign_idx"),
            models.Index(fields=["tenant", "customer"], name="greeting_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} → {self.contact} ({self.year})"


class Coupon(TenantModel):
    """A coupon carried by one greeting: a unique, unguessable code per company, redeemed once on an order."""

    class Kind(models.TextChoices):
        AMOUNT = "amount", _("Amount off")
        PERCENT = "percent", _("Percentage off")

    campaign = models.ForeignKey(CareCampaign, on_delete=models.CASCADE, related_name="coupons")
    greeting = models.OneToOneField(Greeting, on_delete=models.CASCADE, related_name="coupon")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(_("code"), max_length=20)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    min_order = models.DecimalField(_("minimum order"), max_digits=12, decimal_places=2, default=0)
    expires_on = models.DateField(_("expires"))
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order = models.OneToOneField(
        "sales.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="coupon", verbose_name=_("order")
    )
    order_amount = models.DecimalField(_("order amount"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="marketing_coupon_unique_code")]
        indexes = [models.Index(fields=["tenant", "customer"], name="coupon_customer_idx")]

    def __str__(self) -> str:
        return self.code


class SegmentQuerySet(TenantQuerySet):
    def visible_to(self, user) -> SegmentQuerySet:
        """The segments a user may see and use: admins every one of the tenant's; others those shared with the whole
        tenant, those shared with their team or a team above it, and their own. Fails closed."""
        if not getattr(user, "is_authenticated", False) or user.tenant_id is None:
            return self.none()
        mine = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return mine
        condition = models.Q(team__isnull=True) | models.Q(owner=user)
        if user.team_id:
            # Shared with the user's team or a team above it: its path is a prefix of the user's team's path.
            user_path = Team.objects.filter(pk=user.team_id).values("path")[:1]
            above = Team.objects.filter(
                pk=models.OuterRef("team_id"), path=Substr(models.Subquery(user_path), 1, Length("path"))
            )
            condition |= models.Q(models.Exists(above))
        return mine.filter(condition)


class Segment(TenantModel):
    """A named customer filter that managers and admins share with a team (and the teams under it) or the whole
    company: the customer list's own filters (`filters` holds its query parameters, e.g. {"level": "3", "region":
    "上海", "rfm_cell": "champions"}), so a segment opens as the customer list and picks the audience of a
    campaign. A user's personal filters are the customer list's saved views (crm.savedviews)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    # Shared with this team and the teams under it; empty: the whole company.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("shared with team")
    )

    objects = SegmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="marketing_segment_unique_name")]
        indexes = [models.Index(fields=["tenant", "team"], name="segment_team_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def query_string(self) -> str:
        """The customer list's query string for this segment's filters."""
        return urlencode(sorted((k, str(v)) for k, v in (self.filters or {}).items() if v not in (None, "")))


class RfmCell(models.TextChoices):
    """The classic named cells of recency against the mean of frequency and monetary value (each scored 1–5)."""

    CHAMPIONS = "champions", pgettext_lazy("RFM cell", "Champions")
    LOYAL = "loyal", pgettext_lazy("RFM cell", "Loyal customers")
    POTENTIAL_LOYALIST = "potential_loyalist", pgettext_lazy("RFM cell", "Potential loyalists")
    NEW = "new", pgettext_lazy("RFM cell", "New customers")
    PROMISING = "promising", pgettext_lazy("RFM cell", "Promising")
    NEED_ATTENTION = "need_attention", pgettext_lazy("RFM cell", "Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", pgettext_lazy("RFM cell", "About to sleep")
    AT_RISK = "at_risk", pgettext_lazy("RFM cell", "At risk")
    CANT_LOSE = "cant_lose", pgettext_lazy("RFM cell", "Can't lose them")
    HIBERNATING = "hibernating", pgettext_lazy("RFM cell", "Hibernating")
    LOST = "lost", pgettext_lazy("RFM cell", "Lost")


class RfmSettings(TenantModel):
    """A tenant's RFM window: the orders of the last `window_months` months are scored."""

    window_months = models.PositiveSmallIntegerField(
        _("window (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Orders of this many months before today count towards the scores."),
    )
    computed_at = models.DateTimeField(_("last computed"), null=True, blank=True)

    class Meta:
        verbose_name = _("RFM settings")
        verbose_name_plural = _("RFM settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="marketing_rfm_settings_once")]


class RfmScore(TenantModel):
    """One customer's RFM scores, written only by the set-based job (marketing.services.rfm): the last order in the
    window, the number of orders and their amount (in the tenant's currency), each scored 1–5 by quintiles within
    the tenant, and the named cell. Customers with no order in the window have no row: they are unscored."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="rfm_scores", verbose_name=_("customer")
    )
    last_order_on = models.DateField(_("last order"))
    orders = models.PositiveIntegerField(_("orders"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    recency = models.PositiveSmallIntegerField("R")
    frequency = models.PositiveSmallIntegerField("F")
    monetary = models.PositiveSmallIntegerField("M")
    cell = models.CharField(_("RFM cell"), max_length=20, choices=RfmCell.choices)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer"], name="marketing_rfm_one_per_customer"),
            models.CheckConstraint(
                condition=models.Q(recency__range=(1, 5), frequency__range=(1, 5), monetary__range=(1, 5)),
                name="marketing_rfm_scores_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "cell", "customer"], name="rfm_cell_idx"),
            models.Index(fields=["tenant", "recency", "frequency", "monetary"], name="rfm_scores_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: R{self.recency} F{self.frequency} M{self.monetary}"


# --- Marketing campaigns: a budget, its leads and the deals they brought; members; email/SMS blasts -------------


class MarketingCampaign(TenantModel):
    """A marketing campaign (an exhibition, online ads, a blast…): its dates, budget and actual cost, and the
    attribution code that leads carry (`Lead.campaign`, the `utm_campaign` of the web form) — first touch: a lead
    counts for the campaign whose code it carries, a customer and its opportunities for its first lead's."""

    class Kind(models.TextChoices):
        EVENT = "event", _("Event or exhibition")
        ADS = "ads", _("Online ads")
        BLAST = "blast", _("Email or SMS blast")
        CONTENT = "content", _("Content")
        REFERRAL = "referral", _("Referral")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACTIVE = "active", _("Running")
        DONE = "done", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.EVENT)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    # Exactly as leads carry it in `Lead.campaign` (a link's utm_campaign, an import's campaign column, typed in).
    code = models.CharField(
        _("attribution code"),
        max_length=100,
        help_text=_("The utm_campaign value of its links and the campaign column of lead imports."),
    )
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    actual_cost = models.DecimalField(
        _("actual cost"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    expected_leads = models.PositiveIntegerField(_("expected leads"), default=0)
    expected_revenue = models.DecimalField(
        _("expected revenue"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("marketing campaign")
        verbose_name_plural = _("marketing campaigns")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="marketing_mcampaign_unique_code"),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="marketing_mcampaign_dates",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-starts_on"], name="mcampaign_list_idx"),
            models.Index(fields=["tenant", "status", "-starts_on"], name="mcampaign_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignMember(TenantModel):
    """A person invited to or attending a campaign's event: an existing contact, or a lead made for them (with the
    campaign's code) when the sign-in list names someone the company does not know yet."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ATTENDED = "attended", _("Attended")

    campaign = models.ForeignKey(
        MarketingCampaign, on_delete=models.CASCADE, related_name="members", verbose_name=_("campaign")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaign_memberships",
        verbose_name=_("contact"),
    )
    lead = models.ForeignKey(
        "sales.Lead",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaign_memberships",
        verbose_name=_("lead"),
    )
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.INVITED)

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "campaign", "contact"],
                condition=models.Q(contact__isnull=False),
                name="marketing_member_once_contact",
            ),
            models.UniqueConstraint(
                fields=["tenant", "campaign", "lead"],
                condition=models.Q(lead__isnull=False),
                name="marketing_member_once_lead",
            ),
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False) | models.Q(lead__isnull=False), name="marketing_member_who"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "campaign", "status", "name"], name="member_campaign_idx")]

    def __str__(self) -> str:
        return self.name


class Blast(TenantModel):
    """An email or SMS blast of a campaign to an audience, at a scheduled time, sent at the company's rate.

    Its recipients are rows unique on (blast, contact), inserted in one statement when sending starts; each
    recipient's message is keyed on the recipient, so a run that crashes is resumed without messaging anyone twice.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(
        MarketingCampaign, on_delete=models.CASCADE, related_name="blasts", verbose_name=_("campaign")
    )
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    # Who: the customer list's filters, as care campaigns take them (marketing.selectors.care.audience_customers).
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    email_subject = models.CharField(_("email subject"), max_length=200, blank=True, help_text=PLACEHOLDER_HELP)
    email_body = models.TextField(_("email text"), blank=True, help_text=PLACEHOLDER_HELP)
    sms_body = models.CharField(_("SMS text"), max_length=300, blank=True, help_text=PLACEHOLDER_HELP)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("blast")
        verbose_name_plural = _("blasts")
        indexes = [
            models.Index(fields=["tenant", "campaign", "-created_at"], name="blast_campaign_idx"),
            models.Index(
                fields=["tenant", "send_at"],
                condition=models.Q(status__in=["scheduled", "sending"]),
                name="blast_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BlastRecipient(TenantModel):
    """One contact of a blast: pending until the throttled job queues its message (keyed `blast:<recipient id>`),
    then queued; sent or failed as its message is; or skipped with the reason when it may not be messaged."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        QUEUED = "queued", _("Queued")
        NO_CONSENT = "no_consent", _("Skipped: no marketing consent")
        UNSUBSCRIBED = "unsubscribed", _("Skipped: unsubscribed")
        NO_ADDRESS = "no_address", _("Skipped: no email or mobile")

    blast = models.ForeignKey(Blast, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("blast"))
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    status = models.CharField(_("status"), max_length=14, choices=Status.choices)
    message = models.ForeignKey(
        "crm.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("blast recipient")
        verbose_name_plural = _("blast recipients")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "blast", "contact"], name="marketing_blast_once_per_contact")
        ]
        indexes = [models.Index(fields=["tenant", "blast", "status"], name="blast_recipient_idx")]

    def __str__(self) -> str:
        return f"{self.blast} → {self.contact}"


class MarketingSettings(TenantModel):
    """A company's marketing settings: how many blast messages go out per minute (the throttle)."""

    blast_rate_per_minute = models.PositiveIntegerField(
        _("blast messages per minute"), default=100, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )

    class Meta:
        verbose_name = _("marketing settings")
        verbose_name_plural = _("marketing settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="marketing_settings_one_per_tenant")]
