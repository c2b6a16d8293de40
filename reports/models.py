"""Sales targets, report subscriptions and the deliveries of scheduled reports."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from reports.querysets import FunnelFactQuerySet


class SalesTarget(TenantModel):
    """A month's target of one rep or one team: an amount in the tenant's currency and, optionally, a number of new
    customers. `month` is the first day of the month."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_targets",
        verbose_name=_("rep"),
    )
    team = models.ForeignKey(
        "crm.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_targets",
        verbose_name=_("team"),
    )
    month = models.DateField(_("month"))
    amount = models.DecimalField(_("target amount"), max_digits=14, decimal_places=2)
    new_customers = models.PositiveIntegerField(_("new customers"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["month", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(team__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(team__isnull=False)),
                name="reports_target_user_xor_team",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=Decimal("0")), name="reports_target_amount"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="reports_target_first_of_month"),
            models.UniqueConstraint(
                fields=["tenant", "user", "month"], condition=models.Q(user__isnull=False), name="reports_target_user"
            ),
            models.UniqueConstraint(
                fields=["tenant", "team", "month"], condition=models.Q(team__isnull=False), name="reports_target_team"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "month"], name="reports_target_month_idx")]

    def __str__(self) -> str:
        return f"{self.user or self.team} {self.month:%Y-%m}: {self.amount}"


class Dashboard(models.TextChoices):
    FUNNEL = "funnel", _("Funnel")
    FORECAST = "forecast", _("Forecast")
    TEAM = "team", _("Team performance")
    ACTIVITY = "activity", _("Activity")


class ReportSubscription(TenantModel):
    """A user receives a dashboard as a PDF, with the filters they chose, every week (on Monday) or every month (on
    the 1st), at a local hour of the tenant's time zone."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Every Monday")
        MONTHLY = "monthly", _("On the 1st of every month")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions", verbose_name=_("to")
    )
    dashboard = models.CharField(_("dashboard"), max_length=10, choices=Dashboard.choices)
    # The dashboard's query string (period preset, team, rep, pipeline), as the page's URL carries it.
    filters = models.CharField(_("filters"), max_length=500, blank=True)
    frequency = models.CharField(_("how often"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    hour = models.PositiveSmallIntegerField(_("at (local hour)"), default=8)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        ordering = ["dashboard", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hour__lte=23), name="reports_subscription_hour"),
            models.CheckConstraint(condition=models.Q(dashboard__in=Dashboard.values), name="reports_sub_dashboard"),
            models.CheckConstraint(
                condition=models.Q(frequency__in=["weekly", "monthly"]), name="reports_subscription_frequency"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "user"], name="reports_sub_user_idx"),
            models.Index(fields=["tenant", "is_active"], name="reports_sub_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dashboard_display()} → {self.user}"


class ReportDelivery(TenantModel):
    """One sending of a subscription for one period ("2026-W48", "2026-11"): the unique row that makes the send
    happen once however often the job runs, and the PDF the email links to."""

    subscription = models.ForeignKey(ReportSubscription, on_delete=models.CASCADE, related_name="deliveries")
    period_key = models.CharField(max_length=16)
    pdf = models.BinaryField(editable=False)
    filename = models.CharField(max_length=120)

    class Meta:
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription", "period_key"], name="reports_delivery_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_key}"


class OpportunityFunnelFact(TenantModel):
    """What the funnel and the forecast need of one opportunity, kept beside it so the funnel reads one narrow row
    per opportunity instead of its whole stage history: the pipeline, owner, cohort time (its creation), status,
    amount and currency, when and why it closed, and per stage it ever entered (`stage_ids`, sorted) the time spent
    there over its completed stays, how many stays completed, when it first entered and last left it; for the
    forecast, its current stage, probability override and the month the forecast counts it in. Written from the
    opportunity and its stage changes by `reports.services.funnel_facts` on every save of either (signals), and
    rebuilt for existing data by the command `rebuild_funnel_facts`; `refreshed_at` is the freshness the page
    shows. The owner's team is read through the owner, so a person who changes teams takes their deals along, as in
    `Opportunity.objects.visible_to`."""

    opportunity = models.ForeignKey("sales.Opportunity", on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey("sales.Pipeline", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cohort_at = models.DateTimeField()
    status = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True)
    stage_ids = ArrayField(models.BigIntegerField(), default=list)
    stay_seconds = ArrayField(models.FloatField(), default=list)
    stay_counts = ArrayField(models.IntegerField(), default=list)
    first_entered_at = ArrayField(models.DateTimeField(), default=list)
    last_left_at = ArrayField(models.DateTimeField(null=True), default=list)
    # The first day of the month it was created, and of the month whose exchange rate converts its amount (closed,
    # else created), in the company's time zone.
    cohort_month = models.DateField()
    rate_month = models.DateField()
    # The forecast's: the current stage (its probability is read when the forecast is computed), the probability
    # set by hand, and the month counted in: the expected close month when open (None without a date), the local
    # month it was won in when won, None when lost.
    stage_id = models.BigIntegerField(null=True)
    probability_override = models.PositiveSmallIntegerField(null=True)
    forecast_month = models.DateField(null=True)
    refreshed_at = models.DateTimeField()

    objects = FunnelFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("funnel fact")
        verbose_name_plural = _("funnel facts")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "opportunity"], name="reports_funnelfact_once"),
        ]
        indexes = [
            # The funnel's one scan: a pipeline's cohort by creation time.
            models.Index(
                fields=["tenant", "pipeline", "cohort_at"],
                name="reports_funnelfact_cohort_idx",
            ),
            models.Index(fields=["tenant", "pipeline", "owner", "cohort_month"], name="reports_funnelfact_month_idx"),
            models.Index(fields=["tenant", "pipeline", "owner", "forecast_month"], name="reports_fact_forecast_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.status} {self.stage_ids}"


class FunnelMonth(TenantModel):
    """The funnel facts of one owner's opportunities created in one month of one pipeline, added up per status,
    set of stages entered, currency and rate month (and lost reason): what the funnel reads for the whole months of
    its period, so a year of 500,000 opportunities is a few thousand rows. Rewritten with the facts
    (`reports.services.funnel_facts`), one bucket (pipeline, owner, month) at a time."""

    pipeline = models.ForeignKey("sales.Pipeline", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    status = models.CharField(max_length=10)
    stage_ids = ArrayField(models.BigIntegerField(), default=list)
    currency = models.CharField(max_length=3)
    rate_month = models.DateField()
    lost_reason = models.CharField(max_length=300, blank=True)
    n = models.IntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    cycle_seconds = models.FloatField(default=0)
    cycle_n = models.IntegerField(default=0)
    refreshed_at = models.DateTimeField()

    objects = FunnelFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("funnel month")
        verbose_name_plural = _("funnel months")
        indexes = [models.Index(fields=["tenant", "pipeline", "month"], name="reports_funnelmonth_idx")]


class FunnelMonthStay(TenantModel):
    """The completed stays of a bucket's opportunities (as `FunnelMonth`) in one stage: total seconds and count."""

    pipeline = models.ForeignKey("sales.Pipeline", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    stage_id = models.BigIntegerField()
    seconds = models.FloatField()
    stays = models.IntegerField()

    objects = FunnelFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("funnel month stay")
        verbose_name_plural = _("funnel month stays")
        indexes = [models.Index(fields=["tenant", "pipeline", "month"], name="reports_funnelmonthstay_idx")]


class ForecastMonth(TenantModel):
    """The open and won opportunities of one owner in one pipeline that the forecast counts in one month, added up
    per status, stage and probability override (open ones), currency and rate month: what the forecast reads instead
    of every open deal, so a year of 500,000 opportunities is a few thousand rows. `month` is the expected close
    month of open ones (None: no expected close date) and the tenant-local month won ones were won in. Rewritten from
    the funnel facts with them (`reports.services.funnel_facts`), one bucket (pipeline, owner, month) at a time; the
    stage's probability is read when the forecast is computed, so editing it needs no rewrite."""

    pipeline = models.ForeignKey("sales.Pipeline", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(null=True)
    status = models.CharField(max_length=10)
    stage_id = models.BigIntegerField(null=True)
    probability_override = models.PositiveSmallIntegerField(null=True)
    currency = models.CharField(max_length=3)
    rate_month = models.DateField()
    n = models.IntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    refreshed_at = models.DateTimeField()

    objects = FunnelFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("forecast month")
        verbose_name_plural = _("forecast months")
        indexes = [
            models.Index(fields=["tenant", "month"], name="reports_forecastmonth_idx"),
            models.Index(fields=["tenant", "owner", "month"], name="reports_forecast_owner_idx"),
        ]


class ReportFile(TenantModel):
    """A dashboard's PDF, CSV or XLSX over a large scope, built by a job (reports.services.report_file); only the
    person who asked for it (`created_by`) may see its progress and download it. REPORT_FILE_RETENTION_DAYS after
    it finished, a daily job deletes its stored file and marks it expired (the row stays a while, so its page can
    say so), then deletes the row."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Being prepared")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    dashboard = models.CharField(_("dashboard"), max_length=20, choices=Dashboard.choices)
    format = models.CharField(_("format"), max_length=4)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True, max_length=200)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("report file")
        verbose_name_plural = _("report files")
        indexes = [
            models.Index(fields=["tenant", "created_by", "-created_at"], name="reportfile_requester_idx"),
            models.Index(fields=["tenant", "status", "finished_at"], name="reportfile_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dashboard}.{self.format} ({self.status})"

    @property
    def pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
