"""Extension requests: a rep asks their manager for more time before a customer falls back. The request is decided
through the approvals engine (crm.approvals, policy "pool.extension"); `extension_decided` is its callback."""

from __future__ import annotations

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

EXTENSION_KIND = "pool.extension"


def extension_request(*, acting_user: User, customer: Customer, reason: str) -> ExtensionRequest:
    """The owner asks for more time, once per ownership period; the rep's manager (else an administrator) is
    asked to approve it."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you need more time."), field="reason")
    if customer.owner_id != acting_user.pk or customer.owned_since is None:
        raise PermissionDenied(_("Only the owner asks for an extension."))
    if ExtensionRequest.objects.filter(customer=customer, owned_since=customer.owned_since).exists():
        raise DomainError(_("An extension was already asked for this customer while you hold it."))
    with transaction.atomic():
        request = ExtensionRequest.objects.create(
            tenant_id=customer.tenant_id,
            customer=customer,
            requested_by=acting_user,
            owned_since=customer.owned_since,
            reason=reason,
            created_by=acting_user,
        )
        approval_submit(acting_user=acting_user, kind=EXTENSION_KIND, obj=request, title=customer.name, summary=reason)
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="extension.request",
            obj=customer,
            details={"reason": reason},
        )
    return request


def extension_decided(approval: ApprovalRequest, request: ExtensionRequest) -> None:
    """The approvals engine's outcome, inside its transaction: an approval postpones the fallback by the pool's
    extension days (refused if the rep no longer holds the customer); a rejection or withdrawal records it."""
    request = ExtensionRequest.objects.select_for_update().select_related("customer__pool").get(pk=request.pk)
    customer = Customer.objects.select_for_update().get(pk=request.customer_id)
    if approval.status == ApprovalRequest.Status.APPROVED:
        if customer.owner_id != request.requested_by_id or customer.owned_since != request.owned_since:
            raise DomainError(_("The rep no longer holds this customer."))
        days = customer.pool.extension_days
        Customer.objects.filter(pk=customer.pk).update(extension_days=F("extension_days") + days)
        request.status, request.days = ExtensionRequest.Status.APPROVED, days
        OwnershipEvent.objects.create(
            tenant_id=customer.tenant_id,
            customer=customer,
            from_owner=customer.owner,
            to_owner=customer.owner,
            reason=OwnershipEvent.Reason.EXTENSION,
            note=_("Fallback postponed by %(days)d days: %(reason)s") % {"days": days, "reason": request.reason},
            actor=approval.decided_by,
        )
    elif approval.status == ApprovalRequest.Status.REJECTED:
        request.status = ExtensionRequest.Status.DECLINED
    else:
        request.status = ExtensionRequest.Status.WITHDRAWN
    request.save(update_fields=["status", "days", "updated_at"])
    audit(tenant=customer.tenant, actor=approval.decided_by, action=f"extension.{request.status}", obj=customer)


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
