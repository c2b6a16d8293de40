"""Forms of an opportunity: the opportunity, a move on the board."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import sales_assignable_users
from crm.api.forms import CustomFieldsFormMixin
from crm.forms import QueryForm
from crm.models import User
from customers.models import Contact, Customer
from sales.forms.fields import CustomerChoiceField, DateInput, StageChoiceField, UserChoiceField, stage_choices
from sales.models import Pipeline, order_currencies


class OpportunityForm(CustomFieldsFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    customer = CustomerChoiceField(label=_("Customer"), empty_label=None)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— none —")
    )
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none(), empty_label=None)
    stage = StageChoiceField(label=_("Stage"), required=False)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Empty with product lines: their total."),
    )
    currency = forms.ChoiceField(label=_("Currency"))
    expected_close_date = forms.DateField(label=_("Expected close date"), required=False, widget=DateInput)
    probability = forms.IntegerField(
        label=_("Win probability (%)"), required=False, help_text=_("Empty: the stage's probability.")
    )
    owner = UserChoiceField(label=_("Owner"), queryset=User.objects.none(), empty_label=None)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(
        self,
        *args,
        user: User,
        customer: Customer | None = None,
        editing: bool = False,
        custom: dict | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        tenant = user.tenant
        self.editing = editing
        self.add_custom_fields(tenant.pk, "opportunity", custom)
        self.fields["owner"].queryset = sales_assignable_users(user).order_by("full_name")
        if self.fields["owner"].queryset.count() <= 1:
            self.fields["owner"].widget = forms.HiddenInput()
        self.fields["currency"].choices = [(c, c) for c in order_currencies(tenant)]
        self.fields["currency"].initial = tenant.currency
        self.fields["currency"].error_messages["invalid_choice"] = _("%(value)s is not a currency your company uses.")
        if editing:
            for name in ("customer", "pipeline", "stage"):
                del self.fields[name]
        else:
            self.fields["customer"].queryset = Customer.objects.editable_by(user)
            self.fields["pipeline"].queryset = Pipeline.objects.filter(tenant=tenant, is_active=True)
            self.fields["stage"].set_stages(tenant, pipeline_field="pipeline", first_label=_("— first stage —"))
        if customer is not None:
            self.fields["contact"].queryset = Contact.objects.filter(tenant_id=tenant.pk, customer=customer)
        else:
            del self.fields["contact"]


class OpportunityMoveForm(forms.Form):
    stage = StageChoiceField(label=_("Move to"))
    lost_reason = forms.CharField(label=_("Why was it lost?"), max_length=300, required=False)

    def __init__(self, *args, tenant, pipeline: Pipeline | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].tenant = tenant
        choices = stage_choices(tenant, open_only=False)
        if pipeline is not None:
            choices = [group for group in choices if group[0] == pipeline.name]
        self.fields["stage"].choices = choices


class BoardForm(QueryForm):
    """The board's query: `pipeline`, `owner` ("me", or for managers one of `people`) and `q` (the start of a
    customer's name, or part of the opportunity's). A value that does not parse falls back to its default."""

    pipeline = forms.ChoiceField(required=False)
    owner = forms.ChoiceField(required=False)
    q = forms.CharField(required=False, max_length=200)
    defaults = {"pipeline": "", "owner": "", "q": ""}

    def __init__(self, data, *, pipelines, people):
        super().__init__(data)
        self.fields["pipeline"].choices = [("", ""), *((str(p.pk), p.name) for p in pipelines)]
        self.fields["owner"].choices = [("", ""), ("me", "me"), *((str(p.pk), str(p.pk)) for p in people)]
