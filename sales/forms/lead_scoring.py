"""A lead-scoring rule."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sales.models import (
    LeadScoringRule,
    ScoringCondition,
    ScoringField,
)


class ScoringRuleForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), choices=ScoringField.choices)
    condition = forms.ChoiceField(label=_("Condition"), choices=ScoringCondition.choices)
    value = forms.CharField(
        label=_("Value"),
        max_length=200,
        required=False,
        help_text=_("For “is one of”, separate the values with commas. Comparisons ignore case."),
    )
    points = forms.IntegerField(label=_("Points"), help_text=_("Negative points lower the score."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def for_rule(cls, rule: LeadScoringRule, data=None):
        return cls(
            data,
            initial={
                "field": rule.field,
                "condition": rule.condition,
                "value": rule.value,
                "points": rule.points,
                "is_active": rule.is_active,
            },
        )
