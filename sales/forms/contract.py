"""Forms of a contract: its creation from a quote, a status change, the payment plan, a receipt."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from sales.forms.fields import DateInput
from sales.models import ContractStatus, ReceiptMethod


class ContractFromQuoteForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    starts_on = forms.DateField(label=_("Start date"), widget=DateInput, required=False)
    ends_on = forms.DateField(label=_("End date"), widget=DateInput, required=False)


class ContractEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    starts_on = forms.DateField(label=_("Start date"), widget=DateInput, required=False)
    ends_on = forms.DateField(label=_("End date"), widget=DateInput, required=False)
    drop_plan = forms.BooleanField(
        label=_("Remove the payment plan"),
        required=False,
        help_text=_("Needed to change the amount of a contract that has a payment plan; make the plan again after."),
    )


class ContractStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ContractStatus.choices)
    signed_on = forms.DateField(label=_("Signing date"), widget=DateInput, required=False)


class InstalmentForm(forms.Form):
    due_on = forms.DateField(label=_("Due date"), widget=DateInput, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, required=False, validators=[MinValueValidator(0)]
    )

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return data.get("due_on") is None and data.get("amount") is None


InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=3, max_num=60, validate_max=True)


class ReceiptForm(forms.Form):
    received_on = forms.DateField(label=_("Date received"), widget=DateInput)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    method = forms.ChoiceField(label=_("Method"), choices=ReceiptMethod.choices)
    reference = forms.CharField(label=_("Bank reference"), max_length=100, required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Signed scan or other file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
