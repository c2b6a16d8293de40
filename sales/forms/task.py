"""The task form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import assignable_users
from crm.models import User
from customers.models import Customer
from sales.forms.fields import CustomerChoiceField, DateTimeLocalInput, UserChoiceField


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeLocalInput)
    remind_at = forms.DateTimeField(
        label=_("Reminder"),
        required=False,
        widget=DateTimeLocalInput,
        help_text=_("You get a notification and an email at this time."),
    )
    assignee = UserChoiceField(label=_("Assignee"), queryset=User.objects.none(), empty_label=None)
    customer = CustomerChoiceField(label=_("Customer"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(user).order_by("full_name")
        self.fields["customer"].queryset = Customer.objects.visible_to(user)
        if self.fields["assignee"].queryset.count() <= 1:
            self.fields["assignee"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        due, remind = data.get("due_at"), data.get("remind_at")
        if due and remind and remind > due:
            self.add_error("remind_at", _("The reminder must not be later than the due time."))
        return data
