"""The calendar's query parameters."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from crm.forms import QueryForm

# Far enough for any plan, near enough that paging a month on never leaves the calendar.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9000, 12, 31)


class CalendarForm(QueryForm):
    """`view` (week or month), `date` (the day shown) and `member` (me, "all" of my teams, or one of `people`).
    A value that does not parse falls back to its default: this week, me."""

    view = forms.ChoiceField(choices=[("week", "week"), ("month", "month")], required=False)
    date = forms.DateField(required=False, validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)])
    member = forms.ChoiceField(required=False)

    def __init__(self, data, *, today: dt.date, people, team: bool):
        super().__init__(data)
        self.defaults = {"view": "week", "date": today, "member": ""}
        choices = [("all", "all")] if team else []
        self.fields["member"].choices = [("", ""), *choices, *((str(p.pk), str(p.pk)) for p in people)]
