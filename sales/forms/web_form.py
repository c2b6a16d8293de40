"""The public lead form and its settings; the signed fill-time token that keeps robots out."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.antirobot import HONEYPOT
from crm.models import User
from sales.forms.fields import UserChoiceField
from sales.models import (
    LeadWebForm,
    WebFormField,
)


class WebFormSettingsForm(forms.Form):
    is_enabled = forms.BooleanField(label=_("Published: visitors can send it"), required=False)
    title = forms.CharField(label=_("Heading"), max_length=200)
    intro = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    fields_ = forms.MultipleChoiceField(
        label=_("Fields the form asks for"),
        choices=WebFormField.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The name is always asked for; ask for a phone number or an email too."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Fields visitors must fill in"),
        choices=WebFormField.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    thank_you = forms.CharField(label=_("Thank-you message"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = UserChoiceField(
        label=_("New leads go to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: managers hand them out"),
    )
    source = forms.CharField(label=_("Source of its leads"), max_length=50, required=False)
    campaign = forms.CharField(
        label=_("Campaign"),
        max_length=100,
        required=False,
        help_text=_("A link with ?utm_campaign=… overrides it per visit."),
    )
    privacy_text = forms.CharField(
        label=_("Privacy notice"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "How you use the personal information visitors send (个人信息保护法). When set, visitors must tick their "
            "consent; each lead keeps the version of the text its visitor agreed to."
        ),
    )

    def __init__(self, *args, user: User, web_form: LeadWebForm, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "is_enabled": web_form.is_enabled,
                "title": web_form.title,
                "intro": web_form.intro,
                "fields_": web_form.fields,
                "required_fields": web_form.required_fields,
                "thank_you": web_form.thank_you,
                "owner": web_form.owner,
                "source": web_form.source,
                "campaign": web_form.campaign,
                "privacy_text": web_form.privacy_text,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            User.objects.for_tenant(user.tenant).filter(is_active=True).order_by("full_name")
        )
        self.fields["fields_"].widget.attrs["data-testid"] = "form-fields"


PUBLIC_FIELDS = {
    WebFormField.NAME: lambda: forms.CharField(label=_("Your name"), max_length=100),
    WebFormField.COMPANY: lambda: forms.CharField(label=_("Company"), max_length=200),
    WebFormField.TITLE: lambda: forms.CharField(label=_("Job title"), max_length=100),
    WebFormField.PHONE: lambda: forms.CharField(
        label=_("Phone"), max_length=40, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    ),
    WebFormField.EMAIL: lambda: forms.CharField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    ),
    WebFormField.WECHAT: lambda: forms.CharField(label=_("WeChat ID"), max_length=64),
    WebFormField.REGION: lambda: forms.CharField(label=_("City or region"), max_length=50),
    WebFormField.INDUSTRY: lambda: forms.CharField(label=_("Industry"), max_length=50),
    WebFormField.MESSAGE: lambda: forms.CharField(
        label=_("How can we help?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    ),
}


class PublicLeadForm(forms.Form):
    """The fields the admin chose, a honeypot that people never see, and the timing token."""

    def __init__(self, *args, web_form: LeadWebForm, **kwargs):
        super().__init__(*args, **kwargs)
        required = set(web_form.required_fields) | {"name"}
        for key in [f for f in WebFormField.values if f in web_form.fields]:
            field = PUBLIC_FIELDS[key]()
            field.required = key in required
            self.fields[key] = field
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            label=_("Leave this field empty"),
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )
        if web_form.privacy_text:
            self.fields["consent"] = forms.BooleanField(
                label=_("I have read the privacy notice above and agree to it."),
                error_messages={"required": _("Please agree to the privacy notice to send the form.")},
            )
            self.fields["privacy_version"] = forms.IntegerField(
                required=False, initial=web_form.privacy_version, widget=forms.HiddenInput
            )
        self.fields["ts"] = forms.CharField(required=False, widget=forms.HiddenInput)
        self.fields["utm_campaign"] = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
        self.fields["utm_source"] = forms.CharField(required=False, max_length=50, widget=forms.HiddenInput)

    def visible_lead_fields(self):
        return [self[name] for name in self.fields if name in WebFormField.values]

    def lead_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k in WebFormField.values}
