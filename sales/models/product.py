"""The product catalogue: what quotes, opportunities and orders sell. Administrators maintain it; everyone reads."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel
from sales.models.order import KNOWN_CURRENCIES
from sales.querysets import ProductQuerySet


class Product(TenantModel):
    code = models.CharField(_("product code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. 套, 台, 年, licence"))
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("13"))
    is_active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code", "pk"]
        constraints = [
            # Codes are compared without case: "ab-1" and "AB-1" are one product.
            models.UniqueConstraint("tenant", Upper("code"), name="sales_product_unique_code"),
            models.CheckConstraint(condition=~models.Q(code=""), name="sales_product_code_required"),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_product_name_required"),
            models.CheckConstraint(condition=models.Q(list_price__gte=Decimal("0")), name="sales_product_price"),
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=Decimal("0"), tax_rate__lte=Decimal("100")), name="sales_product_tax"
            ),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_product_currency"),
        ]
        indexes = [
            models.Index(fields=["tenant", "is_active", "code"], name="sales_product_active_idx"),
            models.Index(fields=["tenant", "category", "code"], name="sales_product_category_idx"),
            models.Index(fields=["tenant", "name"], name="sales_product_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
