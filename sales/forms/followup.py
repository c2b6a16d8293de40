"""The follow-up form (with its optional next task)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Contact, Customer
from sales.forms.fields import DateTimeLocalInput
from sales.models import FollowUp


class FollowUpForm(forms.Form):
    """Log a follow-up, and optionally plan the next task in the same step."""

    kind = forms.ChoiceField(label=_("Type"), choices=FollowUp.Kind.choices, initial=FollowUp.Kind.CALL)
    happened_at = forms.DateTimeField(label=_("When"), widget=DateTimeLocalInput)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— none —")
    )
    content = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("What was discussed, what the customer said")}),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices, initial=FollowUp.Outcome.NEUTRAL)
    next_step = forms.CharField(label=_("Next step"), max_length=500, required=False)
    create_next_task = forms.BooleanField(label=_("Plan the next step as a task"), required=False)
    next_task_title = forms.CharField(
        label=_("Task title"), max_length=200, required=False, help_text=_("Empty: the next step.")
    )
    next_task_due_at = forms.DateTimeField(label=_("Task due"), required=False, widget=DateTimeLocalInput)
    next_task_remind_at = forms.DateTimeField(label=_("Reminder"), required=False, widget=DateTimeLocalInput)

    NEXT_TASK_FIELDS = ("next_task_title", "next_task_due_at", "next_task_remind_at")

    def __init__(self, *args, customer: Customer | None, editing: bool = False, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("happened_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        if customer is None:
            # A lead has no contacts yet: the follow-up is with the lead itself.
            del self.fields["contact"]
        else:
            self.fields["contact"].queryset = Contact.objects.filter(tenant_id=customer.tenant_id, customer=customer)
        self.editing = editing
        if editing:
            for name in ("create_next_task", *self.NEXT_TASK_FIELDS):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if self.editing:
            return data
        if not data.get("create_next_task") and any(data.get(name) for name in self.NEXT_TASK_FIELDS):
            # A next task's title or date typed in means "create it": what the user typed is never dropped.
            data["create_next_task"] = True
        if not data.get("create_next_task"):
            return data
        if not (data.get("next_task_title") or data.get("next_step")):
            self.add_error("next_task_title", _("Give the task a title, or fill in the next step."))
        if not data.get("next_task_due_at") and "next_task_due_at" not in self.errors:
            self.add_error("next_task_due_at", _("Enter when the task is due."))
        return data

    def next_task_fields(self):
        return [self[name] for name in self.NEXT_TASK_FIELDS if name in self.fields]

    def main_fields(self):
        hidden = {"create_next_task", *self.NEXT_TASK_FIELDS}
        return [f for f in self.visible_fields() if f.name not in hidden]
