"""The "save these filters" form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Team


class SavedViewForm(forms.Form):
    list_name = forms.CharField(max_length=50, widget=forms.HiddenInput)
    query = forms.CharField(max_length=4000, required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=80)
    team = forms.ModelChoiceField(
        label=_("Share with"), queryset=Team.objects.none(), required=False, empty_label=_("Only me")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.managed_by(user)
