"""The public ticket form of a company (no login)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.antirobot import HONEYPOT
from service.forms.ticket import AttachmentsField


class PublicTicketForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100)
    email = forms.EmailField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("What happened?"), max_length=10000, widget=forms.Textarea(attrs={"rows": 6}))
    attachments = AttachmentsField(label=_("Screenshots or files"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[HONEYPOT] = forms.CharField(required=False)

    def visible(self):
        return [self[name] for name in ("name", "email", "phone", "company", "subject", "description", "attachments")]
