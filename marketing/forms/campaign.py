"""The care campaign form, the preview's day and contact, the log's filter."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from crm.forms import BoundedDateField, QueryForm
from crm.models import Team, User
from crm.services.notification import placeholder_errors
from customers.models import ChoiceKind, Customer, CustomerLevel, Tag
from customers.selectors.choice_list import ChoiceLookup
from marketing.models import CareCampaign, Greeting, Segment
from marketing.selectors.occasion import LUNAR_HOLIDAYS, statutory_holiday_choices
from marketing.services.greeting import PLACEHOLDERS


class CampaignForm(forms.ModelForm):
    lunar_preset = forms.ChoiceField(
        label=_("Lunar holiday"),
        required=False,
        choices=[("", _("— or give the lunar month and day —"))]
        + [(key, label) for key, (label, _m, _d) in LUNAR_HOLIDAYS.items()],
    )

    class Meta:
        model = CareCampaign
        fields = [
            "name",
            "kind",
            "is_active",
            "date_kind",
            "lunar_preset",
            "month",
            "day",
            "holiday",
            "send_on",
            "send_hour",
            "send_minute",
            "audience_segment",
            "audience_level",
            "audience_tag",
            "audience_region",
            "audience_industry",
            "audience_status",
            "audience_owner",
            "audience_team",
            "channel",
            "email_subject",
            "email_body",
            "sms_body",
            "coupon_kind",
            "coupon_value",
            "coupon_min_order",
            "coupon_valid_days",
        ]
        widgets = {
            "send_on": forms.DateInput(attrs={"type": "date"}),
            "email_body": forms.Textarea(attrs={"rows": 5}),
            "sms_body": forms.Textarea(attrs={"rows": 2}),
        }

    audience_segment = forms.ModelChoiceField(
        label=_("Audience: segment"),
        queryset=None,
        required=False,
        help_text=_("A saved customer segment (Segments); the filters below narrow it further."),
    )
    audience_level = forms.ModelChoiceField(label=_("Audience: customer level"), queryset=None, required=False)
    audience_tag = forms.ModelChoiceField(label=_("Audience: tag"), queryset=None, required=False)
    audience_region = forms.CharField(label=_("Audience: region"), max_length=50, required=False)
    audience_industry = forms.CharField(label=_("Audience: industry"), max_length=50, required=False)
    audience_status = forms.ChoiceField(
        label=_("Audience: customer status"), choices=[("", "—"), *Customer.Status.choices], required=False
    )
    audience_owner = forms.ModelChoiceField(label=_("Audience: owner"), queryset=None, required=False)
    audience_team = forms.ModelChoiceField(
        label=_("Audience: owner's team"),
        queryset=None,
        required=False,
        help_text=_("Empty filters: every customer's contacts. The count below updates as you choose."),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        live = {
            "hx-get": reverse_lazy("marketing:audience_count"),
            "hx-trigger": "change",
            "hx-target": "#audience-count",
            "hx-include": "[data-audience]",
            "data-audience": "",
        }
        audience = self.instance.audience or {}
        self.initial.update({f"audience_{k}": audience.get(k) for k in AUDIENCE_KEYS})
        if self.instance.pk and self.instance.date_kind == CareCampaign.DateKind.LUNAR:
            # A lunar date that is one of the presets shows as that holiday (春节 for 正月初一).
            when = (self.instance.month, self.instance.day)
            self.initial.setdefault(
                "lunar_preset", next((key for key, (_l, m, d) in LUNAR_HOLIDAYS.items() if (m, d) == when), "")
            )
        scope_audience_fields(self, tenant)
        for name in AUDIENCE_FIELDS:
            self.fields[name].widget.attrs.update(live)
        self.fields["holiday"] = forms.ChoiceField(
            label=_("Public holiday"), required=False, choices=[("", "—"), *statutory_holiday_choices()]
        )
        self.fields["date_kind"].required = False
        self.fields["send_minute"].required = False
        self.fields["month"].help_text = _("Holidays: the month (Gregorian or lunar).")
        self.fields["day"].help_text = _(
            "Holidays: the day. 29 February falls on 28 February in common years; a lunar 30th on the 29th of a "
            "lunar month of 29 days."
        )

    def clean(self):
        cleaned = super().clean()
        cleaned["audience"] = audience_of(cleaned)
        if cleaned.get("send_minute") is None and "send_minute" not in self.errors:
            cleaned["send_minute"] = 0
        kind = cleaned.get("kind")
        if kind == CareCampaign.Kind.HOLIDAY:
            self._clean_holiday(cleaned)
        elif kind == CareCampaign.Kind.ONE_OFF:
            if not cleaned.get("send_on"):
                self.add_error("send_on", _("A one-off campaign needs the day it goes out."))
        texts = {name: cleaned.get(name) or "" for name in ("email_subject", "email_body", "sms_body")}
        for name, text in texts.items():
            wrong = placeholder_errors(text, PLACEHOLDERS)
            if wrong:
                self.add_error(
                    name,
                    _("Not allowed here: %(names)s. Use only the placeholders listed.") % {"names": ", ".join(wrong)},
                )
        has_email = texts["email_subject"] and texts["email_body"]
        if bool(texts["email_subject"]) != bool(texts["email_body"]):
            self.add_error("email_body", _("An email needs both a subject and a text."))
        if not has_email and not texts["sms_body"]:
            self.add_error(None, _("Write the email, the SMS or both: a campaign with neither sends nothing."))
        if cleaned.get("coupon_kind"):
            value = cleaned.get("coupon_value")
            if value is None or value <= 0:
                self.add_error("coupon_value", _("A coupon needs a value above zero."))
            elif cleaned["coupon_kind"] == CareCampaign.CouponKind.PERCENT and value >= 100:
                self.add_error("coupon_value", _("A percentage off is below 100."))
        return cleaned

    def _clean_holiday(self, cleaned: dict) -> None:
        date_kind = cleaned.get("date_kind") or CareCampaign.DateKind.GREGORIAN
        cleaned["date_kind"] = date_kind
        preset = cleaned.get("lunar_preset")
        if preset:
            _label, cleaned["month"], cleaned["day"] = LUNAR_HOLIDAYS[preset]
            cleaned["date_kind"] = date_kind = CareCampaign.DateKind.LUNAR
        if date_kind == CareCampaign.DateKind.STATUTORY:
            if not cleaned.get("holiday"):
                self.add_error("holiday", _("Choose the public holiday."))
            return
        month, day = cleaned.get("month"), cleaned.get("day")
        if month is None or day is None:
            self.add_error("day", _("A holiday needs its month and day."))
            return
        if date_kind == CareCampaign.DateKind.LUNAR:
            if day > 30:
                self.add_error("day", _("A lunar month has at most 30 days."))
            return
        try:
            dt.date(2000, month, day)  # a leap year: 29 February is a valid holiday date
        except ValueError:
            self.add_error("day", _("There is no such date."))


# The audience's keys (CareCampaign.audience), each the form field audience_<key>.
AUDIENCE_KEYS = ("segment", "level", "tag", "region", "industry", "status", "owner", "team")
AUDIENCE_FIELDS = tuple(f"audience_{key}" for key in AUDIENCE_KEYS)


def scope_audience_fields(form: forms.Form, tenant) -> None:
    """The audience fields' choices of the tenant: its segments, levels, tags, active users as owners and teams;
    the industry a picker of the company's list when it has one (as on the customer list), a value outside the list
    kept selectable."""
    for name, queryset in (
        ("audience_level", CustomerLevel.objects.for_tenant(tenant).order_by("order", "code")),
        ("audience_tag", Tag.objects.for_tenant(tenant).order_by("name")),
        ("audience_owner", User.objects.for_tenant(tenant).filter(is_active=True).order_by("full_name", "pk")),
        ("audience_team", Team.objects.filter(tenant=tenant).order_by("path")),
        ("audience_segment", Segment.objects.for_tenant(tenant).order_by("name")),
    ):
        if name in form.fields:
            form.fields[name].queryset = queryset
    lookup = ChoiceLookup(tenant)
    if lookup.in_use(ChoiceKind.INDUSTRY):
        field = form.fields["audience_industry"]
        choices = [("", "—"), *lookup.options(ChoiceKind.INDUSTRY)]
        current = str(form.initial.get("audience_industry") or (form.data or {}).get("audience_industry") or "")
        if current and current not in {value for value, _label in choices}:
            choices.append((current, current))
        form.fields["audience_industry"] = forms.ChoiceField(
            label=field.label, required=False, choices=choices, help_text=field.help_text
        )


def audience_of(cleaned: dict) -> dict:
    """The campaign's audience (CareCampaign.audience) from the form's cleaned audience fields."""
    audience = {}
    for key in AUDIENCE_KEYS:
        value = cleaned.get(f"audience_{key}")
        value = value.pk if hasattr(value, "pk") else (value or "").strip() if isinstance(value, str) else value
        if value not in (None, ""):
            audience[key] = value
    return audience


class AudienceForm(forms.Form):
    """The audience fields of the care campaign form, scoped to the tenant: the live count's query, and the audience
    part of a blast's form."""

    audience_level = forms.ModelChoiceField(label=_("Audience: customer level"), queryset=None, required=False)
    audience_tag = forms.ModelChoiceField(label=_("Audience: tag"), queryset=None, required=False)
    audience_region = forms.CharField(label=_("Audience: region"), max_length=50, required=False)
    audience_industry = forms.CharField(label=_("Audience: industry"), max_length=50, required=False)
    audience_status = forms.ChoiceField(
        label=_("Audience: customer status"), choices=[("", "—"), *Customer.Status.choices], required=False
    )
    audience_owner = forms.ModelChoiceField(label=_("Audience: owner"), queryset=None, required=False)
    audience_team = forms.ModelChoiceField(label=_("Audience: owner's team"), queryset=None, required=False)
    audience_segment = forms.ModelChoiceField(label=_("Audience: segment"), queryset=None, required=False)

    def __init__(self, *args, tenant, with_segment: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_segment:
            # A blast chooses its segment on its own form (among the segments its author sees).
            del self.fields["audience_segment"]
        scope_audience_fields(self, tenant)


class PreviewForm(QueryForm):
    day = BoundedDateField(required=False)
    contact = forms.IntegerField(required=False, min_value=1)


class LogFilterForm(QueryForm):
    campaign = forms.IntegerField(required=False, min_value=1)
    status = forms.ChoiceField(required=False, choices=[("", "—"), *Greeting.Status.choices])
    page = forms.IntegerField(required=False, min_value=1)
