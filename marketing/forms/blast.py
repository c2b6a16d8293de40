"""The blast form (its audience is the care campaigns' AudienceForm, shown beside it), the schedule form, the
recipients' filter and the marketing settings form."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
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


# The fields whose change recounts the blast's audience (htmx: the count below the form follows as they change).
LIVE_COUNT_FIELDS = ("channel", "segment", "audience_level", "audience_tag", "audience_region", "audience_team")


def live_count(*forms_: forms.Form) -> None:
    """Wire the audience and channel fields of the blast form to its live count (marketing/blast/form.html)."""
    attrs = {
        "hx-get": reverse_lazy("campaigns:blast_audience_count"),
        "hx-trigger": "change",
        "hx-target": "#blast-audience-count",
        "hx-include": "[data-blast-audience]",
        "data-blast-audience": "",
    }
    for form in forms_:
        for name in LIVE_COUNT_FIELDS:
            if name in form.fields:
                form.fields[name].widget.attrs.update(attrs)
        if "audience_region" in form.fields:
            form.fields["audience_region"].widget.attrs["hx-trigger"] = "change, keyup changed delay:500ms"


class BlastAudienceQuery(QueryForm):
    """The live count's query parameters: the channel and the segment (among those the user sees); the customer
    filters are the AudienceForm's. A segment that is not the user's counts nobody."""

    channel = forms.ChoiceField(required=False, choices=Blast.Channel.choices)
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False)
    defaults = {"channel": Blast.Channel.EMAIL, "segment": None}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.visible_to(user)

    def audience(self, filters: dict) -> dict | None:
        """The audience as a blast stores it: the segment's when one is chosen, else the customer filters; None
        (nobody) for a segment the user does not see."""
        if (self.data.get("segment") or "").strip():
            segment = self.value("segment")
            return {"segment": segment.pk} if segment is not None else None
        return filters


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
