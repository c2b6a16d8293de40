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


class ProductPrice(TenantModel):
    """A price book entry: what a product costs customers of one level (e.g. level A pays 9,800 where the list
    says 12,800). A line that picks the product for such a customer starts from this price; other customers, and
    levels without an entry, start from the list price."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="level_prices", verbose_name=_("product")
    )
    level = models.ForeignKey(
        "customers.CustomerLevel", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer level")
    )
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("level price")
        verbose_name_plural = _("level prices")
        ordering = ["product", "level__order", "level__code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product", "level"], name="sales_productprice_unique"),
            models.CheckConstraint(condition=models.Q(price__gte=Decimal("0")), name="sales_productprice_price"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} · {self.level_id}: {self.price}"
