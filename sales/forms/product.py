"""The form of a product of the catalogue."""

from __future__ import annotations

from django import forms
from django.core.validators import MinValueValidator

from crm.models import Tenant
from sales.models import Product, order_currencies


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

    def validate_unique(self):
        """Codes are checked by the service (case-insensitive, within the tenant)."""
