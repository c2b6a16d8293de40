"""Extension requests: a rep asks their manager for more time before a customer falls back. The request is decided
through the approvals engine (crm.approvals, policy "pool.extension"); `extension_decided` is its callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_submit
from crm.errors import DomainError
from crm.models import Role, User
from crm.registry import ApprovalPolicy, ApprovalStepRule
from crm.services.audit import audit
from customers.models import Customer, ExtensionRequest, OwnershipEvent
from customers.services.fallback_date import fallback_at_refresh

EXTENSION_KIND = "pool.extension"


def ownership_extension_submit(
    *, acting_user: User, record: Any, request_model: type, kind: str, reason: str, already: str, action: str
) -> Any:
    """What asking for more time is for any record a rep holds under a pool's rules (a customer, a lead): a reason,
    the owner only, once per ownership period (a row of `request_model`, whose foreign key to the record is named
    after the record's model), decided through the approvals engine under `kind`, audited as `action`."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you need more time."), field="reason")
    if record.owner_id != acting_user.pk or record.owned_since is None:
        raise PermissionDenied(_("Only the owner asks for an extension."))
    link = {record._meta.model_name: record}
    if request_model.objects.filter(**link, owned_since=record.owned_since).exists():
        raise DomainError(already)
    with transaction.atomic():
        request = request_model.objects.create(
            tenant_id=record.tenant_id,
            requested_by=acting_user,
            owned_since=record.owned_since,
            reason=reason,
            created_by=acting_user,
            **link,
        )
        approval_submit(acting_user=acting_user, kind=kind, obj=request, title=str(record), summary=reason)
        audit(tenant=record.tenant, actor=acting_user, action=action, obj=record, details={"reason": reason})
    return request


def ownership_extension_decide(
    approval: ApprovalRequest,
    request: Any,
    *,
    record_field: str,
    gone: str,
    days_of: Callable[[Any], int],
    on_approved: Callable[[Any, Any, int], None],
    action: str,
) -> None:
    """The approvals engine's outcome for any extension request, inside its transaction: an approval postpones the
    record's fall-back by `days_of(record)` days (refused with `gone` if the rep no longer holds it) and calls
    `on_approved` to write the record's history; a rejection or withdrawal is recorded. Audited as
    `action`.<status>."""
    request = type(request).objects.select_for_update().get(pk=request.pk)
    record_model = type(request)._meta.get_field(record_field).related_model
    record = record_model.objects.select_for_update().get(pk=getattr(request, f"{record_field}_id"))
    if approval.status == ApprovalRequest.Status.APPROVED:
        still_held = (
            getattr(record, "deleted_at", None) is None
            and record.owner_id == request.requested_by_id
            and record.owned_since == request.owned_since
        )
        if not still_held:
            raise DomainError(gone)
        days = days_of(record)
        record_model.objects.filter(pk=record.pk).update(extension_days=F("extension_days") + days)
        request.status, request.days = ExtensionRequest.Status.APPROVED, days
        on_approved(record, request, days)
    elif approval.status == ApprovalRequest.Status.REJECTED:
        request.status = ExtensionRequest.Status.DECLINED
    else:
        request.status = ExtensionRequest.Status.WITHDRAWN
    request.save(update_fields=["status", "days", "updated_at"])
    audit(tenant=record.tenant, actor=approval.decided_by, action=f"{action}.{request.status}", obj=record)


def extension_request(*, acting_user: User, customer: Customer, reason: str) -> ExtensionRequest:
    """The owner asks for more time, once per ownership period; the rep's manager (else an administrator) is
    asked to approve it."""
    return ownership_extension_submit(
        acting_user=acting_user,
        record=customer,
        request_model=ExtensionRequest,
        kind=EXTENSION_KIND,
        reason=reason,
        already=_("An extension was already asked for this customer while you hold it."),
        action="extension.request",
    )


def extension_decided(approval: ApprovalRequest, request: ExtensionRequest) -> None:
    """The approvals engine's outcome, inside its transaction: an approval postpones the fallback by the pool's
    extension days (refused if the rep no longer holds the customer); a rejection or withdrawal records it."""

    def history(customer: Customer, request: ExtensionRequest, days: int) -> None:
        fallback_at_refresh(tenant=customer.tenant, ids=[customer.pk])
        OwnershipEvent.objects.create(
            tenant_id=customer.tenant_id,
            customer=customer,
            from_owner=customer.owner,
            to_owner=customer.owner,
            reason=OwnershipEvent.Reason.EXTENSION,
            note=_("Fallback postponed by %(days)d days: %(reason)s") % {"days": days, "reason": request.reason},
            actor=approval.decided_by,
        )

    ownership_extension_decide(
        approval,
        request,
        record_field="customer",
        gone=_("The rep no longer holds this customer."),
        days_of=lambda customer: customer.pool.extension_days,
        on_approved=history,
        action="extension",
    )


def extension_policy() -> ApprovalPolicy:
    """What customers registers with the approvals engine (from CustomersConfig.ready)."""
    return ApprovalPolicy(
        key=EXTENSION_KIND,
        label=gettext_lazy("Pool extension"),
        model="customers.extensionrequest",
        steps=lambda tenant, request: [
            ApprovalStepRule(approver=Role.MANAGER, label=gettext_lazy("The rep's manager")),
        ],
        on_decided=extension_decided,
        url=lambda request: reverse("customers:detail", args=[request.customer_id]),
    )
