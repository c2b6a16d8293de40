"""The form of a product of the catalogue."""

from __future__ import annotations

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from customers.models import CustomerLevel
from sales.models import Product, ProductPrice, order_currencies


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["code", "name", "category", "unit", "list_price", "currency", "tax_rate", "is_active", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in order_currencies(tenant)]
        if not self.instance.pk:
            self.initial.setdefault("currency", tenant.currency)
        self.fields["list_price"].validators.append(MinValueValidator(0))
        # The price book: one optional price per customer level of the tenant (empty: the list price).
        self.levels = list(CustomerLevel.objects.filter(tenant=tenant).order_by("order", "code"))
        current = {}
        if self.instance.pk:
            current = dict(
                ProductPrice.objects.filter(tenant=tenant, product=self.instance).values_list("level_id", "price")
            )
        for level in self.levels:
            self.fields[f"level_{level.pk}"] = forms.DecimalField(
                label=_("Price for level %(level)s") % {"level": level},
                max_digits=14,
                decimal_places=2,
                required=False,
                min_value=0,
                initial=current.get(level.pk),
                help_text=_("Empty: the list price."),
            )

    def level_prices(self) -> dict[CustomerLevel, object]:
        """{level: price or None} as entered."""
        return {level: self.cleaned_data.get(f"level_{level.pk}") for level in self.levels}

    def validate_unique(self):
        """Codes are checked by the service (case-insensitive, within the tenant)."""
