"""Follow-ups: what was done with a customer, a lead or an opportunity, and when."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from sales.querysets import (
    FollowUpQuerySet,
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

    Never deleted: the pool's fallback clock rests on these (customers.services.customer.record_follow_up)."""

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
