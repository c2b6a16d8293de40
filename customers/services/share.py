"""Sharing a customer with a colleague: django-guardian object permissions on the direct-foreign-key model."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.access import can_manage
from customers.models import (
    Customer,
    CustomerUserObjectPermission,
)


def _share_permissions() -> dict[str, Permission]:
    perms = Permission.objects.filter(
        content_type__app_label="customers", codename__in=["view_customer", "change_customer"]
    )
    return {p.codename: p for p in perms}


def customer_share(*, acting_user: User, customer: Customer, with_user: User, can_change: bool = False) -> None:
    """Share with a colleague (read, or read + edit) through guardian's direct-FK permission rows."""
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator shares a customer."))
    if with_user.tenant_id != customer.tenant_id or not with_user.is_active:
        raise DomainError(_("Choose an active colleague."), field="user")
    if with_user.pk == customer.owner_id:
        raise DomainError(_("The owner already sees this customer."), field="user")
    perms = _share_permissions()
    wanted = ["view_customer", "change_customer"] if can_change else ["view_customer"]
    with transaction.atomic():
        CustomerUserObjectPermission.objects.filter(content_object=customer, user=with_user).exclude(
            permission__codename__in=wanted
        ).delete()
        for codename in wanted:
            CustomerUserObjectPermission.objects.get_or_create(
                tenant_id=customer.tenant_id, content_object=customer, user=with_user, permission=perms[codename]
            )
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
        CustomerUserObjectPermission.objects.filter(content_object=customer, user=with_user).delete()
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="customer.unshare",
            obj=customer,
            details={"user": with_user.pk},
        )
