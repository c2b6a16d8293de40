"""Sharing a customer with a colleague."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User


class ShareForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Colleague"), queryset=User.objects.none())
    can_change = forms.BooleanField(label=_("May also edit"), required=False)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.for_tenant(customer.tenant).filter(is_active=True).exclude(pk=customer.owner_id)
        )
