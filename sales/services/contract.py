"""Contracts (合同): made from an accepted quote, approved before signing through crm.approvals (policy
"sales.contract": the owner's manager; an administrator too above the second total limit of the quote settings),
then signed, in effect, completed or terminated; every change of status refreshes the customer's contract cover,
which the pool's fall-back rules read. Numbered per tenant and year with the tenant's prefix
(HT-2026-0001), without gaps under concurrency. Every change locks the contract and is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Case, Max, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Least
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_submit, approval_supersede
from crm.errors import DomainError
from crm.files import file_save
from crm.models import Role, User
from crm.registry import ApprovalPolicy, ApprovalStepRule
from crm.services.audit import audit
from crm.workcalendar.selectors import local_today
from customers.models import CONTRACT_OPEN_ENDED
from customers.services.contract_cover import customer_contract_cover_refresh
from sales.access import can_change_opportunity
from sales.models import Contract, ContractAttachment, ContractStatus, Instalment, Quote, QuoteStatus, Receipt
from sales.money import round_money
from sales.services.quote import quote_settings
from sales.services.sequence import sequence_next

CONTRACT_KIND = "sales.contract"

# Where each status may go by hand (approval moves pending → approved / rejected / draft).
TRANSITIONS = {
    ContractStatus.APPROVED: (ContractStatus.SIGNED,),
    ContractStatus.SIGNED: (ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.ACTIVE: (ContractStatus.COMPLETED, ContractStatus.TERMINATED),
    ContractStatus.REJECTED: (ContractStatus.DRAFT,),
}


def can_change_contract(user: User, contract: Contract) -> bool:
    """Its owner, and whoever may work on its opportunity (the owner's managers, administrators)."""
    if contract.tenant_id != user.tenant_id:
        return False
    if contract.owner_id == user.pk or user.has_any_role(Role.ADMIN):
        return True
    return contract.opportunity is not None and can_change_opportunity(user, contract.opportunity)


def _require_change(user: User, contract: Contract) -> None:
    if not can_change_contract(user, contract):
        raise PermissionDenied(_("Only the contract's owner, their manager or an administrator change it."))


def contract_create_from_quote(
    *,
    acting_user: User,
    quote: Quote,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    title: str = "",
) -> Contract:
    """A draft contract for the total of an accepted quote (one contract per quote), titled `title` or, left
    empty, after the quote's opportunity."""
    if quote.tenant_id != acting_user.tenant_id or not can_change_opportunity(acting_user, quote.opportunity):
        raise PermissionDenied(_("Only those who work on the opportunity change its quotes."))
    if quote.status != QuoteStatus.ACCEPTED:
        raise DomainError(_("A contract is made from an accepted quote."))
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError(_("The end date cannot be before the start date."), field="ends_on")
    settings = quote_settings(acting_user.tenant_id)
    year = local_today(acting_user.tenant).year
    try:
        with transaction.atomic():
            number = sequence_next(tenant_id=acting_user.tenant_id, kind="contract", year=year)
            contract = Contract.objects.create(
                tenant_id=acting_user.tenant_id,
                number=f"{settings.contract_prefix}-{year}-{number:04d}",
                title=(title or "").strip()[:200] or quote.opportunity.name,
                customer_id=quote.customer_id,
                opportunity_id=quote.opportunity_id,
                quote=quote,
                owner_id=quote.owner_id,
                amount=quote.total,
                currency=quote.currency,
                starts_on=starts_on,
                ends_on=ends_on,
                created_by=acting_user,
            )
            audit(tenant=acting_user.tenant, actor=acting_user, action="contract.create", obj=contract)
    except IntegrityError as exc:
        raise DomainError(_("This quote already has its contract.")) from exc
    return contract


def contract_lock_for_change(acting_user: User, contract: Contract) -> Contract:
    """The contract locked for a change by `acting_user` (PermissionDenied if they may not change it)."""
    locked = Contract.objects.select_for_update(of=("self",)).select_related("opportunity").get(pk=contract.pk)
    _require_change(acting_user, locked)
    return locked


def approval_steps(tenant, contract: Contract) -> list[ApprovalStepRule]:
    """Every contract is approved by the owner's manager; above the second total limit, by an administrator too."""
    settings = quote_settings(tenant.pk)
    steps = [ApprovalStepRule(approver=Role.MANAGER, label=gettext_lazy("The rep's manager"))]
    if settings.second_amount_limit is not None and contract.amount > settings.second_amount_limit:
        steps.append(ApprovalStepRule(approver=Role.ADMIN, label=gettext_lazy("An administrator")))
    return steps


def _ask_approval(acting_user: User, contract: Contract) -> None:
    """Move the locked contract to pending and open its approval request (in the caller's transaction)."""
    contract.status = ContractStatus.PENDING
    contract.save(update_fields=["status", "updated_at"])
    approval_submit(
        acting_user=acting_user,
        kind=CONTRACT_KIND,
        obj=contract,
        title=f"{contract.number} · {contract.customer.name}",
        summary=contract.title,
        amount=contract.amount,
        currency=contract.currency,
    )


def contract_submit(*, acting_user: User, contract: Contract) -> Contract:
    """Ask for the contract's approval before it is signed."""
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        if contract.status != ContractStatus.DRAFT:
            raise DomainError(_("Only a draft contract is asked for approval."))
        _ask_approval(acting_user, contract)
        audit(tenant=acting_user.tenant, actor=acting_user, action="contract.submit", obj=contract)
    return contract


def contract_decided(approval: ApprovalRequest, contract: Contract) -> None:
    """The approvals engine's outcome, inside its transaction."""
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    if contract.status != ContractStatus.PENDING:
        raise DomainError(_("This contract no longer waits for approval."))
    contract.status = {
        ApprovalRequest.Status.APPROVED: ContractStatus.APPROVED,
        ApprovalRequest.Status.REJECTED: ContractStatus.REJECTED,
    }.get(approval.status, ContractStatus.DRAFT)
    contract.save(update_fields=["status", "updated_at"])
    audit(tenant=contract.tenant, actor=approval.decided_by, action=f"contract.{approval.status}", obj=contract)


def contract_policy() -> ApprovalPolicy:
    return ApprovalPolicy(
        key=CONTRACT_KIND,
        label=gettext_lazy("Contract"),
        model="sales.contract",
        steps=approval_steps,
        on_decided=contract_decided,
        url=lambda contract: reverse("sales:contract_detail", args=[contract.pk]),
    )


# The statuses of a contract that was signed: in effect until its end, or closed.
SIGNED_STATUSES = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED, ContractStatus.TERMINATED)
CLOSED_STATUSES = (ContractStatus.COMPLETED, ContractStatus.TERMINATED)


def contract_cover() -> Subquery:
    """Per customer row (OuterRef "pk"): the last day its signed contracts cover. A signed or active contract
    covers until its end date (open-ended without one); a completed or terminated one until the earlier of its
    end date and the day it closed. NULL: the customer never signed a contract."""
    end = Case(
        When(
            status__in=(ContractStatus.SIGNED, ContractStatus.ACTIVE),
            then=Coalesce("ends_on", Value(CONTRACT_OPEN_ENDED)),
        ),
        # PostgreSQL's LEAST skips NULLs: the end date or the closing day, whichever is known and earlier.
        default=Coalesce(Least("ends_on", "ended_on"), "signed_on"),
    )
    return Subquery(
        Contract.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            customer_id=OuterRef("pk"),
            status__in=SIGNED_STATUSES,
            signed_on__isnull=False,
        )
        .order_by()
        .values("customer_id")
        .annotate(until=Max(end))
        .values("until")
    )


def contract_cover_sync(*, tenant_id: int, customer_ids) -> int:
    """Recompute the contract cover of these customers from their contracts (the fall-back rules read it)."""
    return customer_contract_cover_refresh(tenant_id=tenant_id, customer_ids=customer_ids, cover=contract_cover())


def contract_set_status(
    *, acting_user: User, contract: Contract, status: str, signed_on: dt.date | None = None
) -> Contract:
    """Move a contract on: approved → signed (with its signing date) → in effect → completed, or terminated; a
    rejected one back to draft to ask again."""
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        if status not in TRANSITIONS.get(contract.status, ()):
            raise DomainError(
                _("A contract that is “%(status)s” cannot be moved there.") % {"status": contract.get_status_display()}
            )
        fields = ["status", "updated_at"]
        if status == ContractStatus.SIGNED:
            signed_on = signed_on or local_today(acting_user.tenant)
            if signed_on > local_today(acting_user.tenant):
                raise DomainError(_("The signing date cannot be in the future."), field="signed_on")
            contract.signed_on = signed_on
            fields.append("signed_on")
        if status in CLOSED_STATUSES:
            contract.ended_on = local_today(acting_user.tenant)
            fields.append("ended_on")
        before = contract.status
        contract.status = status
        contract.save(update_fields=fields)
        # Signing, taking effect and closing change how long the customer is covered against falling back.
        contract_cover_sync(tenant_id=contract.tenant_id, customer_ids=[contract.customer_id])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="contract.status",
            obj=contract,
            details={"from": before, "to": status},
        )
    return contract


# What a contract's file may be, recognised by its first bytes (not by the name or the browser's word).
ATTACHMENT_TYPES = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


def contract_attach(*, acting_user: User, contract: Contract, upload) -> ContractAttachment:
    """Attach a file (the signed scan) to a contract: a PDF, JPEG or PNG of at most 10 MB."""
    if upload is None or not upload.size:
        raise DomainError(_("Choose a file."), field="file")
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), field="file")
    head = upload.read(8)
    upload.seek(0)
    content_type = next((kind for magic, kind in ATTACHMENT_TYPES.items() if head.startswith(magic)), None)
    if content_type is None:
        raise DomainError(_("Attach a PDF, JPEG or PNG file."), field="file")
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        attachment = ContractAttachment(
            tenant_id=contract.tenant_id,
            contract=contract,
            name=(upload.name or "file")[-255:],
            content_type=content_type,
            size=upload.size,
            created_by=acting_user,
        )
        file_save(attachment.file, upload.name or "file", upload)
        attachment.save()
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="contract.attach",
            obj=contract,
            details={"file": attachment.name, "size": attachment.size},
        )
    return attachment


# A contract's terms are changed until it is signed; after that, it is what both parties signed.
EDITABLE = (ContractStatus.DRAFT, ContractStatus.PENDING, ContractStatus.APPROVED, ContractStatus.REJECTED)


def contract_update(
    *,
    acting_user: User,
    contract: Contract,
    title: str,
    amount: Decimal,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    drop_plan: bool = False,
) -> Contract:
    """Change a contract's title, amount and dates until it is signed. The approval covers the amount: a new amount
    on a contract waiting for approval or approved closes that approval and asks again (pending), title and dates
    keep it. A payment plan must add up to the amount: with a new amount, the plan is removed when `drop_plan`,
    else the change is refused. Audited with what changed."""
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the contract a title."), field="title")
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError(_("The end date cannot be before the start date."), field="ends_on")
    with transaction.atomic():
        contract = contract_lock_for_change(acting_user, contract)
        if contract.status not in EDITABLE:
            raise DomainError(_("A signed contract is not changed; terminate it and make a new one."))
        if amount is None or amount <= 0 or amount >= Decimal("1e12"):
            raise DomainError(_("The amount must be greater than zero."), field="amount")
        if round_money(amount, contract.currency) != amount:
            raise DomainError(_("An amount has more decimals than its currency allows."), field="amount")
        before = {
            "title": contract.title,
            "amount": str(contract.amount),
            "starts_on": contract.starts_on.isoformat() if contract.starts_on else None,
            "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
        }
        amount_changed = amount != contract.amount
        plan_dropped = False
        if amount_changed:
            planned = Instalment.objects.filter(contract=contract).aggregate(total=Sum("amount"))["total"]
            if planned is not None:
                if Receipt.objects.filter(contract=contract).exists():
                    raise DomainError(_("Money was already received on this contract; its amount is kept."))
                if not drop_plan:
                    raise DomainError(
                        _(
                            "The payment plan adds up to %(plan)s, not %(amount)s: tick “Remove the payment plan” to "
                            "change the amount, then make the plan again."
                        )
                        % {"plan": f"{planned:,.2f}", "amount": f"{amount:,.2f}"},
                        field="amount",
                    )
                Instalment.objects.filter(contract=contract).delete()
                plan_dropped = True
        contract.title, contract.amount = title[:200], amount
        contract.starts_on, contract.ends_on = starts_on, ends_on
        contract.save(update_fields=["title", "amount", "starts_on", "ends_on", "updated_at"])
        reapproval = amount_changed and contract.status in (ContractStatus.PENDING, ContractStatus.APPROVED)
        if reapproval:
            pending = ApprovalRequest.objects.filter(
                tenant_id=contract.tenant_id,
                kind=CONTRACT_KIND,
                object_id=contract.pk,
                status=ApprovalRequest.Status.PENDING,
            ).first()
            if pending is not None:
                # Closing it moves the contract back to draft (contract_decided); it is asked again just below.
                approval_supersede(acting_user=acting_user, request_id=pending.pk)
                contract.refresh_from_db(fields=["status"])
            _ask_approval(acting_user, contract)
        after = {
            "title": contract.title,
            "amount": str(contract.amount),
            "starts_on": starts_on.isoformat() if starts_on else None,
            "ends_on": ends_on.isoformat() if ends_on else None,
        }
        changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        if changes:
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="contract.update",
                obj=contract,
                details={**changes, "reapproval": reapproval, "plan_removed": plan_dropped},
            )
    return contract
