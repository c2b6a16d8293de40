"""The marketing campaign form and the campaign list's filter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import assignable_users
from crm.forms import QueryForm
from crm.models import CURRENCY_CHOICES
from marketing.models import MarketingCampaign


class MarketingCampaignForm(forms.ModelForm):
    currency = forms.ChoiceField(label=_("currency"), choices=CURRENCY_CHOICES)

    class Meta:
        model = MarketingCampaign
        fields = [
            "name",
            "kind",
            "status",
            "code",
            "starts_on",
            "ends_on",
            "owner",
            "currency",
            "budget",
            "actual_cost",
            "expected_leads",
            "expected_revenue",
            "description",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
            "code": forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(user).order_by("full_name")
        self.fields["code"].help_text = _(
            "One word, e.g. expo-2026 or 2026春季展会, matched exactly. Leads whose campaign is this code count for "
            "the campaign: the web form's ?utm_campaign=, the campaign column of a lead import, or typed in by hand."
        )
        if not self.instance.pk:
            self.initial.setdefault("currency", user.tenant.currency)
            self.initial.setdefault("owner", user.pk)

    def clean_code(self):
        code = (self.cleaned_data.get("code") or "").strip()
        if any(ch.isspace() for ch in code):
            raise forms.ValidationError(_("An attribution code is one word without spaces."))
        return code

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The campaign cannot end before it starts."))
        return cleaned

    def validate_unique(self):
        # The service answers a taken code with its own error (and the database has the last word).
        pass


class CampaignListForm(QueryForm):
    q = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(required=False, choices=[("", "—"), *MarketingCampaign.Status.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "—"), *MarketingCampaign.Kind.choices])
    defaults = {"q": "", "status": "", "kind": ""}
