"""Bulk actions: transfer customers to another rep, move them to another home pool."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import sales_assignable_users
from crm.models import Role, User
from customers.forms.holdings import RepWithHoldingsField
from customers.models import Pool


class TransferForm(forms.Form):
    to_owner = RepWithHoldingsField(label=_("New owner"), queryset=User.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    ids = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_owner"].queryset = sales_assignable_users(user).with_any_role(Role.REP, Role.MANAGER)

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data["ids"]
        try:
            ids = sorted({int(x) for x in raw.split(",") if x.strip()})
        except ValueError as exc:
            raise forms.ValidationError(_("Choose customers from the list.")) from exc
        if not ids:
            raise forms.ValidationError(_("Choose customers from the list."))
        if len(ids) > 500:
            raise forms.ValidationError(_("Transfer at most 500 customers at a time."))
        return ids


class MovePoolForm(forms.Form):
    pool = forms.ModelChoiceField(label=_("New home pool"), queryset=None)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = Pool.objects.for_tenant(tenant)
