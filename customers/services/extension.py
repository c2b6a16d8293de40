"""Extension requests: a rep asks their manager for more time before a customer falls back."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.errors import DomainError
from crm.models import Team, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from customers.access import can_decide
from customers.models import Customer, ExtensionRequest, OwnershipEvent


def manager_of(user: User) -> User | None:
    """The manager of the nearest team above (or at) the user's team that has one."""
    if not user.team_id:
        return None
    team = user.team
    ids = [int(x) for x in team.path.strip("/").split("/") if x]
    teams = {t.pk: t for t in Team.objects.filter(pk__in=ids).select_related("manager")}
    for team_id in reversed(ids):
        t = teams.get(team_id)
        if t and t.manager_id and t.manager and t.manager.is_active and t.manager_id != user.pk:
            return t.manager
    return None


def extension_request(*, acting_user: User, customer: Customer, reason: str) -> ExtensionRequest:
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
        )
        manager = manager_of(acting_user)
        if manager is not None:
            notify(
                recipient=manager,
                title=lazy_format(
                    gettext_lazy("%(rep)s asks to keep %(customer)s longer"),
                    rep=acting_user.full_name,
                    customer=customer.name,
                ),
                body=reason,
                url=reverse("pool:extensions"),
                key=f"extension-request:{request.pk}",
            )
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="extension.request",
            obj=customer,
            details={"reason": reason},
        )
    return request


def extension_decide(*, acting_user: User, request: ExtensionRequest, approve: bool) -> ExtensionRequest:
    if not can_decide(acting_user, request):
        raise PermissionDenied(_("Only the rep's manager or an administrator decides."))
    with transaction.atomic():
        request = ExtensionRequest.objects.select_for_update().select_related("customer__pool").get(pk=request.pk)
        if request.status != ExtensionRequest.Status.PENDING:
            raise DomainError(_("This request was already decided."))
        customer = Customer.objects.select_for_update().get(pk=request.customer_id)
        still_held = customer.owner_id == request.requested_by_id and customer.owned_since == request.owned_since
        request.decided_by, request.decided_at = acting_user, timezone.now()
        if approve and still_held:
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
                actor=acting_user,
            )
        elif approve:
            raise DomainError(_("The rep no longer holds this customer."))
        else:
            request.status = ExtensionRequest.Status.DECLINED
        request.save()
        audit(tenant=customer.tenant, actor=acting_user, action=f"extension.{request.status}", obj=customer)
        notify(
            recipient=request.requested_by,
            title=lazy_format(
                gettext_lazy("Extension approved for %(customer)s")
                if request.status == "approved"
                else gettext_lazy("Extension declined for %(customer)s"),
                customer=customer.name,
            ),
            url=reverse("customers:detail", args=[customer.pk]),
            key=f"extension-decided:{request.pk}",
        )
    return request
