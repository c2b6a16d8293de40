"""The contact form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Contact


class ContactForm(forms.ModelForm):
    mobile = forms.CharField(
        label=_("Mobile"), max_length=40, required=False, help_text=_("Mobile or landline; +86 may be left out.")
    )
    phone = forms.CharField(label=_("Other phone"), max_length=40, required=False)

    class Meta:
        model = Contact
        fields = ["name", "title", "mobile", "phone", "email", "wechat", "birthday", "is_primary", "notes"]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"}), "notes": forms.Textarea(attrs={"rows": 2})}
