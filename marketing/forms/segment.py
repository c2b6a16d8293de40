"""The segment form: its name, description and sharing; its filters are the customer list's FilterSet's form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Role, Team


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    share_team = forms.ModelChoiceField(
        label=_("Shared with"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("The whole company"),
        help_text=_("A team shares it with the teams under it too."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.has_any_role(Role.ADMIN):
            teams = Team.objects.for_tenant(user.tenant)
        else:
            teams = Team.objects.managed_by(user)
            self.fields["share_team"].empty_label = None
            self.fields["share_team"].required = True
        self.fields["share_team"].queryset = teams.order_by("path")
