"""Quotes (报价单) with their lines, their numbering and the tenant's approval thresholds.

A quote is numbered per tenant and year (Q-2026-0042); revising it makes the next version (v2) under the same
number, the earlier one kept as it was. Its totals are computed in one place, `Quote.compute_totals`, in Decimal,
rounded half-up to the currency's minor unit line by line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel
from sales.models.opportunity import Opportunity
from sales.models.order import KNOWN_CURRENCIES
from sales.models.product import Product
from sales.money import round_money
from sales.querysets import QuoteQuerySet

HUNDRED = Decimal(100)


class DocumentSequence(TenantModel):
    """The last number given to a kind of document (quotes, contracts) in a tenant and year. Taken with one
    INSERT … ON CONFLICT DO UPDATE inside the document's transaction: the row stays locked until it commits, so two
    documents never share a number and a rolled-back one gives its number back (no gaps)."""

    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "year"], name="sales_docseq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"


class QuoteSettings(TenantModel):
    """A tenant's approval thresholds for quotes: above the first discount (or total), the rep's manager approves;
    above the second, an administrator too. An empty total limit never asks."""

    discount_limit = models.DecimalField(
        _("discount needing a manager's approval (%)"), max_digits=5, decimal_places=2, default=Decimal("10")
    )
    amount_limit = models.DecimalField(
        _("total needing a manager's approval"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    second_discount_limit = models.DecimalField(
        _("discount needing an administrator's approval too (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("20"),
    )
    second_amount_limit = models.DecimalField(
        _("total needing an administrator's approval too"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    valid_days = models.PositiveSmallIntegerField(_("days a new quote is valid"), default=30)
    default_terms = models.TextField(_("default terms"), blank=True)
    contract_prefix = models.CharField(
        _("contract number prefix"), max_length=10, default="HT", help_text=_("Contracts are numbered HT-2026-0001.")
    )
    renewal_days = models.PositiveSmallIntegerField(_("renewal reminder (days before the end date)"), default=30)
    overdue_manager_days = models.PositiveSmallIntegerField(_("days overdue before the manager is told"), default=7)

    class Meta:
        verbose_name = _("quote settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="sales_quotesettings_one_per_tenant")]

    def __str__(self) -> str:
        return str(self.tenant_id)


@dataclass(frozen=True)
class LineFigures:
    gross: Decimal  # quantity × unit price
    discount: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    discount_pct: Decimal  # of the gross, two decimals
    max_line_discount_pct: Decimal
    lines: tuple[LineFigures, ...]


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected by the approver")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined by the customer")
    EXPIRED = "expired", _("Expired")
    REVISED = "revised", _("Replaced by a later version")


class Quote(TenantModel):
    Status = QuoteStatus

    number = models.CharField(_("quote number"), max_length=40)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("opportunity")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("customer")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("owner")
    )
    status = models.CharField(_("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    gross_amount = models.DecimalField(_("list total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    discount_amount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    net_amount = models.DecimalField(_("total before tax"), max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    discount_pct = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    max_line_discount_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_version", editable=False
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    closed_at = models.DateTimeField(_("accepted or declined"), null=True, blank=True)

    objects = QuoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number", "version"], name="sales_quote_unique_version"),
            models.CheckConstraint(condition=models.Q(status__in=QuoteStatus.values), name="sales_quote_status"),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_quote_currency"),
            models.CheckConstraint(condition=models.Q(total__gte=Decimal("0")), name="sales_quote_total"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="sales_quote_version"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="sales_quote_tenant_idx"),
            models.Index(fields=["tenant", "status", "valid_until"], name="sales_quote_status_idx"),
            models.Index(fields=["tenant", "opportunity", "-created_at"], name="sales_quote_opp_idx"),
            models.Index(fields=["tenant", "customer", "-created_at"], name="sales_quote_customer_idx"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_quote_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """Q-2026-0042, and Q-2026-0042 v2 from the second version on."""
        return self.number if self.version == 1 else f"{self.number} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == QuoteStatus.DRAFT

    @staticmethod
    def compute_totals(lines: Iterable[QuoteLine], currency: str) -> QuoteTotals:
        """The quote's figures from its lines. Each line: gross = quantity × unit price; its discount (the line's
        percentage of the gross) and its tax (the line's rate of what remains) are rounded half-up to the
        currency's minor unit; the quote's totals are the sums of the rounded line figures, so the lines shown
        add up to the totals printed."""
        zero = round_money(Decimal(0), currency)
        figures = []
        max_pct = Decimal(0)
        for line in lines:
            gross = round_money(line.quantity * line.unit_price, currency)
            discount = round_money(gross * line.discount_pct / HUNDRED, currency)
            net = gross - discount
            tax = round_money(net * line.tax_rate / HUNDRED, currency)
            figures.append(LineFigures(gross=gross, discount=discount, net=net, tax=tax))
            max_pct = max(max_pct, line.discount_pct)
        gross = sum((f.gross for f in figures), zero)
        discount = sum((f.discount for f in figures), zero)
        net = sum((f.net for f in figures), zero)
        tax = sum((f.tax for f in figures), zero)
        pct = (discount * HUNDRED / gross).quantize(Decimal("0.01")) if gross else Decimal("0.00")
        return QuoteTotals(
            gross=gross,
            discount=discount,
            net=net,
            tax=tax,
            total=net + tax,
            discount_pct=pct,
            max_line_discount_pct=max_pct,
            lines=tuple(figures),
        )


class QuoteLine(TenantModel):
    """A line of a quote: a product of the catalogue (its name, price and tax rate copied when the line is written,
    so later catalogue changes leave sent quotes alone) or a free-text line."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    name = models.CharField(_("item"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount_pct = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    net_amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=Decimal("0")), name="sales_quoteline_qty"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=Decimal("0")), name="sales_quoteline_price"),
            models.CheckConstraint(
                condition=models.Q(discount_pct__gte=Decimal("0"), discount_pct__lte=Decimal("100")),
                name="sales_quoteline_discount",
            ),
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=Decimal("0"), tax_rate__lte=Decimal("100")),
                name="sales_quoteline_tax",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="sales_quoteline_name"),
        ]
        indexes = [models.Index(fields=["tenant", "quote", "position"], name="sales_quoteline_quote_idx")]

    def __str__(self) -> str:
        return self.name
