"""The pool-health period and drill-down parameters, parsed and bounded."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.models import User
from crm.workcalendar.selectors import local_today
from customers.models import Pool
from customers.selectors.health import BUCKET_KEYS, METRICS, Period, people_in_scope

DEFAULT_DAYS = 30


MAX_DAYS = 366


class HealthPeriodForm(forms.Form):
    start = forms.DateField(
        label=pgettext_lazy("start of a period", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=pgettext_lazy("end of a period", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.today = local_today(user.tenant, now)

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", _("The period starts after it ends."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", _("Choose a period of at most %(days)d days.") % {"days": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data

    def period(self) -> Period:
        if self.is_bound and self.is_valid():
            start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        else:
            end = self.today
            start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
        return Period.of(self.user.tenant, start, end)


class HealthDrillForm(HealthPeriodForm):
    metric = forms.ChoiceField(label=gettext_lazy("Figure"), choices=list(METRICS.items()))
    pool = forms.ModelChoiceField(label=gettext_lazy("Pool"), queryset=Pool.objects.none(), required=False)
    bucket = forms.ChoiceField(
        label=gettext_lazy("Waiting"), choices=[("", "")] + [(k, k) for k in BUCKET_KEYS], required=False
    )
    rep = forms.ModelChoiceField(label=gettext_lazy("Rep"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["pool"].queryset = Pool.objects.visible_to(user)
        self.fields["rep"].queryset = people_in_scope(user)
