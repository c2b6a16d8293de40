"""Payment collection (回款): a contract's payment plan of instalments, the receipts that settle them (earliest
instalment first; a receipt may settle part of one or several; more than is outstanding is refused), and the
overdue and renewal reminders of the daily job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import manager_of
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from crm.workcalendar.selectors import local_today
from sales.models import Contract, ContractStatus, Instalment, OverdueNotice, Receipt, ReceiptAllocation, ReceiptMethod
from sales.money import round_money
from sales.services.contract import contract_lock_for_change
from sales.services.quote import quote_settings

# Contracts whose money is collected: once signed, until terminated (a completed one may still owe).
COLLECTING = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED)
MAX_INSTALMENTS = 60


def payment_plan_save(
    *, acting_user: User, contract: Contract, instalments: Sequence[tuple[dt.date, Decimal]]
) -> list[Instalment]:
    """Replace the contract's plan: instalments (due date, amount) that add up to the contract's amount exactly.
    Refused once money was received on the contract."""
    if not instalments:
        raise DomainError(_("Add at least one instalment."), field="instalments")
    if len(instalments) > MAX_INSTALMENTS:
        raise DomainError(_("At most %(max)d instalments.") % {"max": MAX_INSTALMENTS}, field="instalments")
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        if contract.status == ContractStatus.TERMINATED:
            raise DomainError(_("A terminated contract's plan is not changed."))
        cleaned = []
        for due_on, amount in sorted(instalments, key=lambda pair: pair[0]):
            if due_on is None or amount is None or amount <= 0:
                raise DomainError(_("Every instalment needs a due date and an amount above zero."), field="instalments")
            if round_money(amount, contract.currency) != amount:
                raise DomainError(_("An amount has more decimals than its currency allows."), field="instalments")
            cleaned.append((due_on, amount))
        total = sum((amount for _due, amount in cleaned), Decimal(0))
        if total != contract.amount:
            raise DomainError(
                _("The instalments add up to %(total)s; the contract's amount is %(amount)s.")
                % {"total": f"{total:,.2f}", "amount": f"{contract.amount:,.2f}"},
                field="instalments",
            )
        if Receipt.objects.filter(contract=contract).exists():
            raise DomainError(_("Money was already received on this contract; its plan is kept."))
        Instalment.objects.filter(contract=contract).delete()
        rows = Instalment.objects.bulk_create(
            [
                Instalment(
                    tenant_id=contract.tenant_id,
                    contract=contract,
                    position=position,
                    due_on=due_on,
                    amount=amount,
                    created_by=acting_user,
                )
                for position, (due_on, amount) in enumerate(cleaned, start=1)
            ]
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="contract.plan",
            obj=contract,
            details={"instalments": [[d.isoformat(), str(a)] for d, a in cleaned]},
        )
    return rows


def receipt_record(
    *,
    acting_user: User,
    contract: Contract,
    received_on: dt.date,
    amount: Decimal,
    method: str,
    reference: str = "",
) -> Receipt:
    """Record money received: it settles the earliest open instalments first. Refused when it is more than the
    contract still owes under its plan, or when the contract is not being collected."""
    if method not in ReceiptMethod.values:
        raise DomainError(_("Choose how the money came."), field="method")
    if amount is None or amount <= 0:
        raise DomainError(_("The amount must be greater than zero."), field="amount")
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        if contract.status not in COLLECTING:
            raise DomainError(_("Money is recorded on a signed contract."))
        if received_on is None or received_on > local_today(acting_user.tenant):
            raise DomainError(_("The date received cannot be in the future."), field="received_on")
        if round_money(amount, contract.currency) != amount:
            raise DomainError(_("The amount has more decimals than its currency allows."), field="amount")
        open_instalments = list(
            Instalment.objects.select_for_update().filter(contract=contract).open().order_by("due_on", "position")
        )
        if not open_instalments and not Instalment.objects.filter(contract=contract).exists():
            raise DomainError(_("Set the contract's payment plan first."))
        outstanding = sum((i.outstanding for i in open_instalments), Decimal(0))
        if amount > outstanding:
            raise DomainError(
                _("Only %(outstanding)s %(currency)s is outstanding on this contract.")
                % {"outstanding": f"{outstanding:,.2f}", "currency": contract.currency},
                field="amount",
            )
        receipt = Receipt.objects.create(
            tenant_id=contract.tenant_id,
            contract=contract,
            received_on=received_on,
            amount=amount,
            method=method,
            reference=(reference or "").strip()[:100],
            recorded_by=acting_user,
            created_by=acting_user,
        )
        left, allocations = amount, []
        for instalment in open_instalments:
            if left <= 0:
                break
            part = min(left, instalment.outstanding)
            instalment.received += part
            left -= part
            allocations.append(
                ReceiptAllocation(tenant_id=contract.tenant_id, receipt=receipt, instalment=instalment, amount=part)
            )
        ReceiptAllocation.objects.bulk_create(allocations)
        Instalment.objects.bulk_update([a.instalment for a in allocations], ["received"])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="contract.receipt",
            obj=contract,
            details={"amount": str(amount), "method": method, "receipt": receipt.pk},
        )
    return receipt


def contract_reminders_send(*, tenant_id: int) -> int:
    """The daily job of one tenant, on its local date: each overdue instalment is told to the contract's owner
    once, and past the tenant's N days to the owner's manager once (OverdueNotice is unique per instalment and
    step, and the notifications carry keys, so a rerun or two copies at once tell nobody twice); each contract in
    effect whose end date is within the renewal days reminds its owner once (a conditional update claims it)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    settings = quote_settings(tenant.pk)
    today = local_today(tenant)
    sent = 0
    overdue = (
        Instalment.objects.filter(tenant=tenant, due_on__lt=today, contract__status__in=COLLECTING)
        .open()
        .select_related("contract__owner", "contract__customer")
        .order_by("due_on", "pk")
    )
    for instalment in overdue:
        contract = instalment.contract
        days = (today - instalment.due_on).days
        steps = [("owner", contract.owner)]
        if days > settings.overdue_manager_days:
            steps.append(("manager", manager_of(contract.owner)))
        for step, recipient in steps:
            if recipient is None:
                continue
            with transaction.atomic():
                _notice, created = OverdueNotice.objects.get_or_create(tenant=tenant, instalment=instalment, step=step)
                if not created:
                    continue
                notify(
                    recipient=recipient,
                    title=lazy_format(
                        gettext_lazy("Overdue payment: %(number)s, %(customer)s, %(amount)s %(currency)s"),
                        number=contract.number,
                        customer=contract.customer.name,
                        amount=f"{instalment.outstanding:,.2f}",
                        currency=contract.currency,
                    ),
                    body=lazy_format(
                        gettext_lazy("Instalment %(position)d was due on %(due)s (%(days)d days ago)."),
                        position=instalment.position,
                        due=instalment.due_on.isoformat(),
                        days=days,
                    ),
                    url=reverse("sales:contract_detail", args=[contract.pk]),
                    key=f"instalment-overdue:{instalment.pk}:{step}",
                )
                sent += 1
    horizon = today + dt.timedelta(days=settings.renewal_days)
    due = Contract.objects.filter(
        tenant=tenant,
        status__in=(ContractStatus.SIGNED, ContractStatus.ACTIVE),
        ends_on__isnull=False,
        ends_on__gte=today,
        ends_on__lte=horizon,
        renewal_reminded_at__isnull=True,
    ).values_list("pk", flat=True)
    for contract_id in list(due):
        with transaction.atomic():
            claimed = Contract.objects.filter(pk=contract_id, renewal_reminded_at__isnull=True).update(
                renewal_reminded_at=timezone.now()
            )
            if not claimed:
                continue
            contract = Contract.objects.select_related("owner", "customer").get(pk=contract_id)
            notify(
                recipient=contract.owner,
                title=lazy_format(
                    gettext_lazy("Contract %(number)s with %(customer)s ends on %(end)s: time to renew"),
                    number=contract.number,
                    customer=contract.customer.name,
                    end=contract.ends_on.isoformat(),
                ),
                url=reverse("sales:contract_detail", args=[contract.pk]),
                key=f"contract-renewal:{contract.pk}",
            )
            sent += 1
    return sent


def contract_money(contract: Contract) -> dict[str, Decimal]:
    """Received and outstanding of a contract (for its page)."""
    received = Receipt.objects.filter(contract=contract).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return {"received": received, "outstanding": contract.amount - received}
