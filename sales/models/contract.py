"""Contracts (合同) made from accepted quotes, approved before signing; their payment plan (回款计划) of instalments
and the receipts (回款) that settle them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import CURRENCY_CHOICES, TenantModel
from sales.models.opportunity import Opportunity
from sales.models.order import KNOWN_CURRENCIES
from sales.models.quote import Quote
from sales.querysets import ContractQuerySet, InstalmentQuerySet, ReceiptQuerySet


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved, to be signed")
    REJECTED = "rejected", _("Rejected by the approver")
    SIGNED = "signed", _("Signed")
    ACTIVE = "active", _("In effect")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")


class Contract(TenantModel):
    Status = ContractStatus

    number = models.CharField(_("contract number"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("customer")
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="contract")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("owner")
    )
    status = models.CharField(_("status"), max_length=10, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    signed_on = models.DateField(_("signing date"), null=True, blank=True)
    starts_on = models.DateField(_("start date"), null=True, blank=True)
    ends_on = models.DateField(_("end date"), null=True, blank=True)
    # The tenant-local day it was completed or terminated (NULL while it is not closed).
    ended_on = models.DateField(_("ended on"), null=True, blank=True, editable=False)
    # Set once by the renewal reminder job (a conditional update), so each contract is reminded once.
    renewal_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="sales_contract_unique_number"),
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_contract_amount"),
            models.CheckConstraint(condition=models.Q(currency__in=KNOWN_CURRENCIES), name="sales_contract_currency"),
            models.CheckConstraint(condition=models.Q(status__in=ContractStatus.values), name="sales_contract_status"),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True)
                | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="sales_contract_dates",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="sales_contract_tenant_idx"),
            models.Index(fields=["tenant", "customer", "-created_at"], name="sales_contract_customer_idx"),
            models.Index(fields=["tenant", "owner", "-created_at"], name="sales_contract_owner_idx"),
            models.Index(fields=["tenant", "status", "ends_on"], name="sales_contract_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class Instalment(TenantModel):
    """One instalment of a contract's payment plan; `received` is what receipts have settled of it so far."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="instalments")
    position = models.PositiveSmallIntegerField()
    due_on = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    received = models.DecimalField(_("received"), max_digits=14, decimal_places=2, default=Decimal("0"))

    objects = InstalmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["contract", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contract", "position"], name="sales_instalment_position"),
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_instalment_amount"),
            models.CheckConstraint(
                condition=models.Q(received__gte=Decimal("0"), received__lte=models.F("amount")),
                name="sales_instalment_received",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "due_on"], name="sales_instalment_due_idx"),
            models.Index(fields=["tenant", "contract", "position"], name="sales_instalment_contract_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} #{self.position}"

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.received


class ReceiptMethod(models.TextChoices):
    BANK = "bank", _("Bank transfer")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque")
    ONLINE = "online", _("Online payment")


class Receipt(TenantModel):
    """Money received on a contract (回款记录), settling its earliest open instalments first."""

    Method = ReceiptMethod

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="receipts")
    received_on = models.DateField(_("date received"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    method = models.CharField(_("method"), max_length=10, choices=ReceiptMethod.choices)
    reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    objects = ReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_receipt_amount"),
            models.CheckConstraint(condition=models.Q(method__in=ReceiptMethod.values), name="sales_receipt_method"),
        ]
        indexes = [models.Index(fields=["tenant", "contract", "-received_on"], name="sales_receipt_contract_idx")]

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.amount}"


class ReceiptAllocation(TenantModel):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="allocations")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="sales_allocation_amount"),
        ]
        indexes = [models.Index(fields=["tenant", "instalment"], name="sales_alloc_instalment_idx")]

    def __str__(self) -> str:
        return f"{self.receipt_id} → {self.instalment_id}"


class OverdueNotice(TenantModel):
    """That an overdue instalment was notified at a step ("owner", then "manager" past N days): unique, so the
    daily job tells each once, however often it runs."""

    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=10)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "instalment", "step"], name="sales_overdue_once"),
        ]

    def __str__(self) -> str:
        return f"{self.instalment_id} {self.step}"


class ContractAttachment(TenantModel):
    """A file of a contract (the signed scan): PDF, JPEG or PNG, checked by its first bytes and its size, served
    only to those who may see the contract's customer."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="contracts/%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "contract"], name="sales_contract_attach_idx")]

    def __str__(self) -> str:
        return self.name
