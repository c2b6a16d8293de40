"""Orders (purchase history) and their product lines."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel
from sales.querysets import (
    OrderQuerySet,
)

# Currencies an order may be in: the tenant's own, plus the few foreign ones Chinese SMEs commonly invoice in.
FOREIGN_ORDER_CURRENCIES = ("USD", "EUR", "HKD")


KNOWN_CURRENCIES = [code for code, _label in CURRENCY_CHOICES]


def order_currencies(tenant) -> list[str]:
    """The currencies `tenant` uses for orders, its own first."""
    return [tenant.currency, *(c for c in FOREIGN_ORDER_CURRENCIES if c != tenant.currency)]


class OrderStatus(models.TextChoices):
    """Whether an order counts as a deal: a discount above the tenant's threshold waits for approval first."""

    CONFIRMED = "confirmed", _("Confirmed")
    AWAITING = "awaiting", _("Awaiting approval")
    REJECTED = "rejected", _("Discount rejected")


class Order(TenantModel):
    """A purchase: the customer's history that feeds the pool's no-deal clock and the RFM scores. Only a
    confirmed, unvoided order counts (OrderQuerySet.counted)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="orders", verbose_name=_("customer")
    )
    ordered_on = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    reference = models.CharField(_("order number"), max_length=64, blank=True)
    items_text = models.TextField(_("items"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED, editable=False
    )
    # 1 − charged / list total of the product lines at the customer's level price, in percent (None: no product
    # line, so no discount to judge).
    discount_pct = models.DecimalField(
        _("discount (%)"), max_digits=6, decimal_places=2, null=True, blank=True, editable=False
    )
    # A coupon redeemed on the order (by another app, through crm.registry.OrderExtension): its code and what it
    # took off. `amount` is what the customer pays, after the coupon; before it, amount + coupon_discount.
    coupon_code = models.CharField(_("coupon"), max_length=20, blank=True, editable=False)
    coupon_discount = models.DecimalField(
        _("coupon discount"), max_digits=14, decimal_places=2, default=Decimal("0"), editable=False
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_order_amount_positive"),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_order_currency"),
            models.UniqueConstraint(
                fields=["tenant", "reference"], condition=~models.Q(reference=""), name="sales_order_unique_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""), name="sales_order_void_reason"
            ),
            models.CheckConstraint(condition=models.Q(status__in=OrderStatus.values), name="sales_order_status_valid"),
            models.CheckConstraint(
                condition=models.Q(coupon_discount__gte=Decimal("0")), name="sales_order_coupon_discount"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-ordered_on"], name="sales_order_tenant_idx"),
            models.Index(fields=["tenant", "customer", "-ordered_on"], name="sales_order_customer_idx"),
            # Orders waiting for approval are few: a partial index finds them without widening the list's index.
            models.Index(
                fields=["tenant", "-ordered_on"],
                condition=~models.Q(status="confirmed"),
                name="sales_order_unconfirmed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def amount_before_coupon(self) -> Decimal:
        return self.amount + self.coupon_discount

    @property
    def is_counted(self) -> bool:
        return self.voided_at is None and self.status == OrderStatus.CONFIRMED


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    # The catalogue product sold (empty: a free-text line); its name and price are copied onto the line.
    product = models.ForeignKey(
        "sales.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    name = models.CharField(_("product"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=Decimal("0")), name="sales_line_qty_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=Decimal("0")), name="sales_line_price"),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_line_name_required"),
        ]
        indexes = [models.Index(fields=["tenant", "order"], name="sales_line_order_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price
