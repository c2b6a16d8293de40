"""Sharing a customer with a colleague: django-guardian object permissions on the direct-foreign-key model."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.access import can_manage
from customers.models import (
    Customer,
)

SHARE_PERMISSIONS = ("customers.view_customer", "customers.change_customer")


def customer_share(*, acting_user: User, customer: Customer, with_user: User, can_change: bool = False) -> None:
    """Share with a colleague (read, or read + edit) through django-guardian's object permissions, so that
    `with_user.has_perm("customers.change_customer", customer)` answers truthfully; `visible_to` reads the same
    rows in its one query."""
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator shares a customer."))
    if with_user.tenant_id != customer.tenant_id or not with_user.is_active:
        raise DomainError(_("Choose an active colleague."), field="user")
    if with_user.pk == customer.owner_id:
        raise DomainError(_("The owner already sees this customer."), field="user")
    wanted = set(SHARE_PERMISSIONS) if can_change else {"customers.view_customer"}
    with transaction.atomic():
        for perm in SHARE_PERMISSIONS:
            if perm in wanted:
                assign_perm(perm, with_user, customer)
            else:
                remove_perm(perm, with_user, customer)
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="customer.share",
            obj=customer,
            details={"user": with_user.pk, "change": can_change},
        )


def customer_unshare(*, acting_user: User, customer: Customer, with_user: User) -> None:
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator shares a customer."))
    with transaction.atomic():
        for perm in SHARE_PERMISSIONS:
            remove_perm(perm, with_user, customer)
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="customer.unshare",
            obj=customer,
            details={"user": with_user.pk},
        )
