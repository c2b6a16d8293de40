"""Converting a lead: the customer, contact and opportunity it becomes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User
from customers.models import Customer
from sales.forms.fields import CustomerChoiceField, DateInput, StageChoiceField
from sales.models import (
    Lead,
    Pipeline,
    order_currencies,
)


class LeadConvertForm(forms.Form):
    NEW, EXISTING = "new", "existing"

    mode = forms.ChoiceField(
        label=_("The lead becomes"),
        choices=[(NEW, _("A new customer")), (EXISTING, _("A contact of an existing customer"))],
        widget=forms.RadioSelect,
        initial=NEW,
    )
    customer_name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    customer_kind = forms.ChoiceField(label=_("Type"), choices=Customer.Kind.choices, required=False)
    customer = CustomerChoiceField(label=_("Existing customer"), required=False)
    create_opportunity = forms.BooleanField(label=_("Also open an opportunity"), required=False, initial=True)
    opportunity_name = forms.CharField(label=_("Opportunity"), max_length=200, required=False)
    opportunity_pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, empty_label=None
    )
    opportunity_stage = StageChoiceField(label=_("Stage"), required=False)
    opportunity_amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, required=False)
    opportunity_currency = forms.ChoiceField(label=_("Currency"), required=False)
    opportunity_expected_close_date = forms.DateField(label=_("Expected close date"), required=False, widget=DateInput)

    def __init__(self, *args, user: User, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        tenant = user.tenant
        self.fields["customer"].queryset = Customer.objects.editable_by(user)
        self.fields["opportunity_pipeline"].queryset = Pipeline.objects.filter(tenant=tenant, is_active=True)
        self.fields["opportunity_stage"].set_stages(
            tenant, pipeline_field="opportunity_pipeline", first_label=_("— first stage —")
        )
        self.fields["opportunity_currency"].choices = [(c, c) for c in order_currencies(tenant)]

    def clean(self):
        data = super().clean()
        if data.get("mode") == self.EXISTING and not data.get("customer"):
            self.add_error("customer", _("Choose the customer the lead belongs to."))
        if data.get("create_opportunity") and not data.get("opportunity_name"):
            self.add_error("opportunity_name", _("Give the opportunity a name."))
        return data
