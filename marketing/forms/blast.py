"""The blast form (its audience is the care campaigns' AudienceForm, shown beside it), the schedule form, the
recipients' filter and the marketing settings form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import QueryForm
from crm.services.notification import placeholder_errors
from marketing.models import Blast, BlastRecipient, MarketingSettings, Segment
from marketing.services.greeting import PLACEHOLDERS


class BlastForm(forms.ModelForm):
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.none(),
        required=False,
        help_text=_("A saved segment's customers. Empty: the customer filters below."),
    )

    class Meta:
        model = Blast
        fields = ["name", "channel", "segment", "email_subject", "email_body", "sms_body"]
        widgets = {"email_body": forms.Textarea(attrs={"rows": 6}), "sms_body": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.visible_to(user).order_by("name")
        segment_id = (self.instance.audience or {}).get("segment")
        if segment_id:
            self.initial["segment"] = segment_id

    def clean(self):
        cleaned = super().clean()
        for name in ("email_subject", "email_body", "sms_body"):
            wrong = placeholder_errors(cleaned.get(name) or "", PLACEHOLDERS)
            if wrong:
                self.add_error(
                    name,
                    _("Not allowed here: %(names)s. Use only the placeholders listed.") % {"names": ", ".join(wrong)},
                )
        channel = cleaned.get("channel")
        if channel == Blast.Channel.EMAIL and not (cleaned.get("email_subject") and cleaned.get("email_body")):
            self.add_error("email_body", _("An email blast needs a subject and a text."))
        if channel == Blast.Channel.SMS and not cleaned.get("sms_body"):
            self.add_error("sms_body", _("An SMS blast needs its text."))
        return cleaned


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: now. In the company's time zone."),
    )


class RecipientFilterForm(QueryForm):
    status = forms.ChoiceField(required=False, choices=[("", "—"), *BlastRecipient.Status.choices])
    page = forms.IntegerField(required=False, min_value=1)
    defaults = {"status": ""}


class PreviewContactForm(QueryForm):
    contact = forms.IntegerField(required=False, min_value=1)


class MarketingSettingsForm(forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = ["blast_rate_per_minute"]
