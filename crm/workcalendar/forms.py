from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CalendarOverride, Weekday, WorkCalendar

TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class WorkCalendarForm(forms.ModelForm):
    """The working week and hours; the model's clean() refuses hours that end before they start and a lunch break
    outside them."""

    workdays = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one working day.")},
    )

    class Meta:
        model = WorkCalendar
        fields = ["workdays", "day_start", "day_end", "lunch_start", "lunch_end", "follow_china_holidays"]
        widgets = {
            "day_start": TIME_INPUT,
            "day_end": TIME_INPUT,
            "lunch_start": TIME_INPUT,
            "lunch_end": TIME_INPUT,
        }
        help_texts = {
            "lunch_start": _("Leave both lunch fields empty if the clock should not pause at noon."),
            "follow_china_holidays": _(
                "Statutory holidays are days off and make-up working days (调休) are working days, as published by "
                "the State Council."
            ),
        }


class CalendarOverrideForm(forms.Form):
    first_day = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    last_day = forms.DateField(
        label=_("Until (optional)"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("For several days in a row, e.g. a company holiday week."),
    )
    is_working = forms.TypedChoiceField(
        label=_("That day is"),
        choices=[("0", _("A day off (company holiday)")), ("1", _("A working day"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="0",
    )
    note = forms.CharField(
        label=_("Note"), max_length=CalendarOverride._meta.get_field("note").max_length, required=False
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The last date must not be before the first."))
        return data


class PreviewForm(forms.Form):
    start = forms.DateField(label=_("Preview from"), required=False, widget=DATE_INPUT)
