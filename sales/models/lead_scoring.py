"""Lead-scoring rules: a condition on a lead's field and the points it gives."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel


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
