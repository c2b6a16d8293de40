"""Handing customers to another rep (managers within their teams, admins)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import (
    Customer,
    OwnershipEvent,
)
from customers.services.customer import check_owner, check_refs, record_ownership_event
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_check


def customer_transfer(*, acting_user: User, customers: Iterable[Customer], to_owner: User, reason: str) -> int:
    """Managers (within their teams) and admins hand customers to another rep, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the customers change hands."), field="reason")
    tenant = acting_user.tenant
    check_refs(tenant, owner=to_owner)
    check_owner(acting_user, to_owner, field="to_owner")
    ids = [c.pk for c in customers]
    with transaction.atomic():
        locked = list(Customer.objects.managed_by(acting_user).filter(pk__in=ids).select_for_update().order_by("pk"))
        if len(locked) != len(set(ids)):
            raise PermissionDenied(_("You may only transfer customers of your teams."))
        holdings_check(rep=to_owner, adding=sum(1 for c in locked if c.owner_id != to_owner.pk), field="to_owner")
        now = timezone.now()
        moved = 0
        for customer in locked:
            if customer.owner_id == to_owner.pk:
                continue
            previous = customer.owner
            customer.owner, customer.owned_since = to_owner, now
            customer.save(update_fields=["owner", "owned_since", "updated_at"])
            record_ownership_event(
                customer,
                reason=OwnershipEvent.Reason.TRANSFER,
                actor=acting_user,
                from_owner=previous,
                to_owner=to_owner,
                note=reason,
            )
            moved += 1
        fallback_at_refresh(tenant=tenant, ids=[c.pk for c in locked])
        audit(
            tenant=tenant,
            actor=acting_user,
            action="customer.transfer",
            details={"customers": ids, "to": to_owner.pk, "reason": reason},
        )
    return moved
