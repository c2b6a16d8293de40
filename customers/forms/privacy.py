"""Forms of the personal-data pages: reveal, a contact's data download, its erasure, the privacy log's tabs."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import QueryForm
from customers.models import PersonalDataReveal


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=PersonalDataReveal.Field.choices)


class PersonalDataFormatForm(QueryForm):
    format = forms.ChoiceField(choices=[("json", "JSON"), ("csv", "CSV")], required=False)
    defaults = {"format": "json"}


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that the person's name, phones, email, WeChat id, birthday and notes are erased for good."
        ),
    )


class PrivacyLogForm(QueryForm):
    TABS = [("reveals", _("Reveals")), ("exports", _("Exports")), ("erasures", _("Erasures"))]

    tab = forms.ChoiceField(choices=TABS, required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    defaults = {"tab": "reveals", "page": 1}
