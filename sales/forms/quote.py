"""Forms of a quote: its header, its lines, the decision of the customer; the tenant's quote settings."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from crm.models import User
from sales.forms.fields import DateInput, ProductChoiceField, ProductLineFormSet
from sales.models import QuoteSettings, order_currencies


class QuoteForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency"))
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput, required=False)
    terms = forms.CharField(label=_("Terms"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in order_currencies(user.tenant)]
        self.fields["currency"].error_messages["invalid_choice"] = _("%(value)s is not a currency your company uses.")


class QuoteLineForm(forms.Form):
    product = ProductChoiceField(label=_("Product"))
    name = forms.CharField(label=_("Item"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=2, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=2, required=False)
    discount_pct = forms.DecimalField(
        label=_("Discount (%)"), max_digits=5, decimal_places=2, required=False, min_value=0, max_value=100
    )
    tax_rate = forms.DecimalField(
        label=_("Tax rate (%)"), max_digits=5, decimal_places=2, required=False, min_value=0, max_value=100
    )

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products

    def clean(self):
        data = super().clean()
        if self.is_blank:
            return data
        if not data.get("product") and not data.get("name"):
            self.add_error("name", _("Choose a product or describe the item."))
        if data.get("quantity") is None or data["quantity"] <= 0:
            self.add_error("quantity", _("The quantity must be greater than zero."))
        if not data.get("product") and data.get("unit_price") is None:
            self.add_error("unit_price", _("Enter a unit price of zero or more."))
        if data.get("unit_price") is not None and data["unit_price"] < Decimal(0):
            self.add_error("unit_price", _("Enter a unit price of zero or more."))
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(k) not in (None, "") for k in ("product", "name", "quantity", "unit_price"))


QuoteLineFormSet = forms.formset_factory(
    QuoteLineForm, formset=ProductLineFormSet, extra=3, max_num=100, validate_max=True
)


class QuoteCloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("accepted", _("Accepted")), ("declined", _("Declined"))])
    # Accepted: draft the contract from the quote in the same click.
    contract = forms.BooleanField(required=False)


class QuoteSettingsForm(forms.ModelForm):
    class Meta:
        model = QuoteSettings
        fields = [
            "discount_limit",
            "amount_limit",
            "second_discount_limit",
            "second_amount_limit",
            "valid_days",
            "default_terms",
            "contract_prefix",
            "renewal_days",
            "overdue_manager_days",
        ]
        widgets = {"default_terms": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("discount_limit", "second_discount_limit"):
            self.fields[name].validators += [MinValueValidator(0), MaxValueValidator(100)]
        for name in ("amount_limit", "second_amount_limit"):
            self.fields[name].validators.append(MinValueValidator(0))
        self.fields["valid_days"].validators.append(MinValueValidator(1))
