"""Subscribing to a dashboard."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reports.models import Dashboard, ReportSubscription


class SubscriptionForm(forms.Form):
    dashboard = forms.ChoiceField(label=_("Dashboard"), choices=Dashboard.choices)
    filters = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    frequency = forms.ChoiceField(label=_("How often"), choices=ReportSubscription.Frequency.choices)
    hour = forms.TypedChoiceField(
        label=_("At (local hour)"), coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], initial=8
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select")
