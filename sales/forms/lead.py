"""Forms of a lead: the lead, its status, handing it out (one or many)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import sales_assignable_users
from crm.models import User
from customers.forms.customer import INDUSTRIES, SOURCES
from sales.access import is_lead_manager
from sales.forms.fields import UserChoiceField
from sales.models import (
    Lead,
)
from sales.services.lead import SETTABLE_STATUSES

UNASSIGNED = "none"


def _datalists(form: forms.Form) -> None:
    for name in ("industry", "source"):
        if name in form.fields:
            form.fields[name].widget.attrs["list"] = f"{name}-options"
    form.datalists = {"industry-options": INDUSTRIES, "source-options": SOURCES}


class LeadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=_("Mobile or landline."))
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    region = forms.CharField(label=_("Region"), max_length=50, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=50, required=False)
    source = forms.CharField(label=_("Source"), max_length=50, required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)
    message = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)

    def __init__(self, *args, user: User, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        _datalists(self)
        if not creating or not is_lead_manager(user):
            del self.fields["owner"]
            return
        self.owners = {str(u.pk): u for u in sales_assignable_users(user).order_by("full_name", "pk")}
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(pk, u.full_name or u.email) for pk, u in self.owners.items() if u.pk != user.pk]
        choices.append((UNASSIGNED, _("Nobody yet (hand out later)")))
        self.fields["owner"].choices = choices
        self.fields["owner"].initial = str(user.pk)

    def lead_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "owner"}

    def chosen_owner(self):
        """The chosen owner; None = unassigned; the user when the form offers no choice."""
        if "owner" not in self.fields:
            return self.user
        value = self.cleaned_data.get("owner") or str(self.user.pk)
        if value == UNASSIGNED:
            return None
        return self.owners.get(value, self.user)


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[(s.value, s.label) for s in SETTABLE_STATUSES])
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class LeadAssignForm(forms.Form):
    owner = UserChoiceField(label=_("Give to"), queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = sales_assignable_users(user).order_by("full_name", "pk")


class LeadBulkAssignForm(LeadAssignForm):
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none(), widget=forms.MultipleHiddenInput)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["leads"].queryset = Lead.objects.visible_to(user)
        self.fields["leads"].error_messages["invalid_choice"] = _("Choose leads you can see.")
        self.fields["leads"].error_messages["required"] = _("Choose at least one lead.")


class LeadRevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("phone", _("phone")), ("email", _("email")), ("wechat", _("WeChat ID"))])
