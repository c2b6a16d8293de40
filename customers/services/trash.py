"""The recycle bin: delete, restore within TRASH_DAYS, and the purge after that."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from customers.access import can_manage
from customers.models import (
    Customer,
    CustomerIdentifier,
    OwnershipEvent,
)
from customers.services.customer import record_ownership_event
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_check
from customers.services.identifier import sync_identifiers

TRASH_DAYS = 30


def customer_trash(*, acting_user: User, customer: Customer) -> Customer:
    """Move to the recycle bin: hidden everywhere, its identifiers freed, restorable for TRASH_DAYS days."""
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator deletes a customer."))
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at:
            return customer
        customer.deleted_at, customer.deleted_by, customer.fallback_at = timezone.now(), acting_user, None
        customer.save(update_fields=["deleted_at", "deleted_by", "fallback_at", "updated_at"])
        CustomerIdentifier.objects.filter(customer=customer).delete()
        record_ownership_event(
            customer,
            reason=OwnershipEvent.Reason.DELETE,
            actor=acting_user,
            from_owner=customer.owner,
            to_owner=customer.owner,
        )
        audit(tenant=customer.tenant, actor=acting_user, action="customer.trash", obj=customer)
    return customer


def customer_restore(*, acting_user: User, customer: Customer) -> Customer:
    """Bring back from the bin, re-checking its identifiers against customers created meanwhile."""
    if not Customer.objects.in_trash_for(acting_user).filter(pk=customer.pk).exists():
        raise PermissionDenied
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at is None:
            return customer
        if customer.deleted_at < timezone.now() - timezone.timedelta(days=TRASH_DAYS):
            raise DomainError(
                _("This customer was deleted more than %(days)d days ago and can no longer be restored.")
                % {"days": TRASH_DAYS}
            )
        if customer.owner is not None:
            holdings_check(rep=customer.owner)
        customer.deleted_at, customer.deleted_by = None, None
        if customer.owner_id is None:
            customer.pooled_at = timezone.now()
        customer.save(update_fields=["deleted_at", "deleted_by", "pooled_at", "updated_at"])
        fallback_at_refresh(tenant=customer.tenant, ids=[customer.pk])
        sync_identifiers(customer, acting_user)
        record_ownership_event(
            customer,
            reason=OwnershipEvent.Reason.RESTORE,
            actor=acting_user,
            from_owner=customer.owner,
            to_owner=customer.owner,
        )
        audit(tenant=customer.tenant, actor=acting_user, action="customer.restore", obj=customer)
    return customer


def purge_trash(*, tenant: Tenant, now=None) -> int:
    """Remove customers deleted more than TRASH_DAYS ago, with their history; one audit event for the run, which
    lists them when expanded."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(days=TRASH_DAYS)
    with transaction.atomic():
        doomed = list(
            Customer.objects.for_tenant(tenant)
            .filter(deleted_at__lt=cutoff)
            .select_for_update(skip_locked=True)
            .values_list("pk", "name")
        )
        if not doomed:
            return 0
        ids = [pk for pk, _name in doomed]
        # One event for the run, its customers listed when it is expanded (by the names kept here, as they are gone).
        audit(
            tenant=tenant,
            actor=None,
            action="trash.purge",
            details={
                "items": ids,
                "item_names": {str(pk): name[:255] for pk, name in doomed},
                "after_days": TRASH_DAYS,
            },
        )
        OwnershipEvent.objects.filter(customer_id__in=ids).delete()
        Customer.objects.filter(pk__in=ids).delete()
    return len(ids)
