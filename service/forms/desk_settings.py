"""The service-desk settings forms (admins)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Team
from customers.models import CustomerLevel
from service.forms.ticket import TagsField
from service.models import Channel, DispatchRule, Priority, TicketCategory
from service.services.dispatch import plan_decode


class DeskSettingsForm(forms.Form):
    default_team = forms.ModelChoiceField(
        label=_("Team for tickets no rule places"), queryset=Team.objects.none(), required=False
    )
    max_open_per_agent = forms.IntegerField(
        label=_("Open tickets one agent may hold"), min_value=1, max_value=10000, required=False
    )
    reopen_days = forms.IntegerField(
        label=_("Days in which a customer's reply reopens a resolved ticket"), min_value=0, max_value=365
    )
    survey_on = forms.BooleanField(label=_("Send a satisfaction survey when a ticket is resolved"), required=False)
    survey_days = forms.IntegerField(label=_("Days a satisfaction survey link stays valid"), min_value=1, max_value=90)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_team"].queryset = Team.objects.filter(tenant=tenant).order_by("path")


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)


class SlaPolicyForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    level = forms.ModelChoiceField(
        label=_("Customer level"), queryset=CustomerLevel.objects.none(), required=False, empty_label=_("Every level")
    )
    first_response_minutes = forms.IntegerField(
        label=_("First response within (business minutes)"), min_value=1, max_value=1_000_000
    )
    resolution_minutes = forms.IntegerField(
        label=_("Resolution within (business minutes)"), min_value=1, max_value=1_000_000
    )
    apply_to_open = forms.BooleanField(
        label=_("Apply to open tickets too"),
        required=False,
        help_text=_(
            "Unsolved tickets of this priority move their deadlines to the new targets, keeping the business time "
            "they have used. Otherwise only new tickets and priority changes use it."
        ),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].queryset = CustomerLevel.objects.filter(tenant=tenant)

    def clean(self):
        data = super().clean()
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        if first and resolution and resolution < first:
            self.add_error(
                "resolution_minutes", _("The resolution target cannot be shorter than the first-response target.")
            )
        return data


class DispatchRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=10000, initial=10)
    active = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=TicketCategory.objects.none(), required=False, empty_label=_("Any")
    )
    priorities = forms.MultipleChoiceField(
        label=_("Priorities"), choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    level = forms.ModelChoiceField(
        label=_("Customer level"), queryset=CustomerLevel.objects.none(), required=False, empty_label=_("Any")
    )
    keywords = TagsField(
        label=_("Keywords"), required=False, help_text=_("Any of them in the subject or description; by commas.")
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    method = forms.ChoiceField(label=_("Then"), choices=DispatchRule.Method.choices)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = TicketCategory.objects.filter(tenant=tenant).order_by("name")
        self.fields["level"].queryset = CustomerLevel.objects.filter(tenant=tenant)
        self.fields["team"].queryset = Team.objects.filter(tenant=tenant).order_by("path")


class CannedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class DispatchPlanForm(forms.Form):
    """The plan a dispatch dry run showed, posted back to apply it."""

    plan = forms.CharField(max_length=20000, required=False)

    def clean_plan(self):
        try:
            return plan_decode(self.cleaned_data["plan"])
        except ValueError as exc:
            raise forms.ValidationError(_("Run the dry run again.")) from exc
