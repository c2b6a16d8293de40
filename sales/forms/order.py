"""Forms of an order: the order, its product lines, voiding it."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.registry import registry
from customers.models import Customer
from sales.forms.fields import CustomerChoiceField, DateInput, ProductChoiceField, ProductLineFormSet
from sales.models import order_currencies
from sales.services.order import Line


class OrderForm(forms.Form):
    customer = CustomerChoiceField(label=_("Customer"), empty_label=None)
    ordered_on = forms.DateField(label=_("Order date"), widget=DateInput)
    currency = forms.ChoiceField(label=_("Currency"))
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Empty with product lines: their total."),
    )
    reference = forms.CharField(label=_("Order number"), max_length=64, required=False)
    items_text = forms.CharField(
        label=_("Items (free text)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Or list the products as lines below."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        # Fields other apps add (crm.registry.OrderExtension), e.g. a coupon code.
        self.extension_names: list[str] = []
        for extension in registry.order_extensions():
            for name, field in extension.fields().items():
                self.fields[name] = field
                self.extension_names.append(name)
        self.fields["customer"].queryset = Customer.objects.editable_by(user)
        self.fields["currency"].choices = [(c, c) for c in order_currencies(user.tenant)]
        self.fields["currency"].initial = user.tenant.currency
        self.fields["currency"].error_messages["invalid_choice"] = _("%(value)s is not a currency your company uses.")

    @property
    def extension_fields(self) -> list:
        return [self[name] for name in self.extension_names]

    def extension_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.extension_names}

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("The amount must be greater than zero."))
        return amount


class OrderLineForm(forms.Form):
    product = ProductChoiceField(label=_("Catalogue product"))
    name = forms.CharField(label=_("Product"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=2, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=2, required=False)

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products

    def clean(self):
        data = super().clean()
        product, name, qty, price = data.get("product"), data.get("name"), data.get("quantity"), data.get("unit_price")
        if not (product or name or qty is not None or price is not None):
            return data  # an empty line is ignored
        if not (name or product):
            self.add_error("name", _("Enter the product."))
        if qty is None or qty <= 0:
            self.add_error("quantity", _("The quantity must be greater than zero."))
        if (price is None and product is None) or (price is not None and price < Decimal("0")):
            self.add_error("unit_price", _("Enter a unit price of zero or more."))
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (
            data.get("product")
            or data.get("name")
            or data.get("quantity") is not None
            or data.get("unit_price") is not None
        )

    def line(self) -> Line:
        """The line as entered, a chosen product giving the name left empty; a price left empty stays None (the
        service prices it from the customer's level or the list price)."""
        data, product = self.cleaned_data, self.cleaned_data.get("product")
        price = data.get("unit_price")
        return Line(
            name=data.get("name") or (product.name if product else ""),
            quantity=data["quantity"],
            unit_price=price,
            product=product,
        )


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=ProductLineFormSet, extra=3, max_num=50, validate_max=True
)


class OrderVoidForm(forms.Form):
    reason = forms.CharField(label=_("Why is this order void?"), max_length=300)
