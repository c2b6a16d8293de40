"""Subscribing to a dashboard."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Team
from reports.models import Dashboard, ReportSubscription


class SubscriptionForm(forms.Form):
    dashboard = forms.ChoiceField(label=_("Dashboard"), choices=Dashboard.choices)
    filters = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    frequency = forms.ChoiceField(label=_("How often"), choices=ReportSubscription.Frequency.choices)
    hour = forms.TypedChoiceField(
        label=_("At (local hour)"), coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], initial=8
    )

    team = forms.ModelChoiceField(
        label=_("For the managers of"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("me"),
        help_text=_("Administrators may subscribe every manager of a team and of the teams under it."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.is_tenant_admin:
            self.fields["team"].queryset = Team.objects.filter(tenant_id=user.tenant_id).order_by("path")
        else:
            del self.fields["team"]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select")
