"""Who may see and change customers, contacts, pools, extensions, exports and rules: `get_<noun>_for_user` answers
404 for missing and not-yours alike; `can_*` predicates and `require_*` checks."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from crm.access import is_tenant_user, require_admin
from crm.errors import DomainError
from crm.models import Role, User
from customers.models import (
    AssignmentRule,
    Contact,
    Customer,
)


def get_customer_for_user(user: User, pk: int, *, for_change: bool = False) -> Customer:
    """The customer if `user` may see it, else 404 (same answer for missing and not yours);
    PermissionDenied when they may see but not change it."""
    customer = get_object_or_404(
        Customer.objects.visible_to(user).select_related("owner", "owner__team", "level", "pool"), pk=pk
    )
    if for_change:
        require_edit(user, customer)
    return customer


class CustomerGone(DomainError):
    """The customer was merged into another one or moved to the recycle bin: it takes no more edits."""


def lock_customer_for_change(user: User, pk: int) -> Customer:
    """Inside `transaction.atomic()`: the customer's row, locked through `user`'s editable queryset. An edit that
    races a merge or a move to the recycle bin waits for it and then finds no row: CustomerGone, with nothing
    written. PermissionDenied when `user` may (no longer) change it."""
    locked = Customer.objects.editable_by(user).select_for_update(of=("self",)).filter(pk=pk).first()
    if locked is not None:
        return locked
    if Customer.objects.filter(pk=pk, tenant_id=user.tenant_id, deleted_at__isnull=False).exists():
        raise CustomerGone(
            _("This customer was merged into another one or moved to the recycle bin meanwhile; nothing was saved.")
        )
    raise PermissionDenied(_("You may see this customer but not change it."))


def lock_customer(user: User, pk: int) -> Customer:
    """Inside `transaction.atomic()`: the customer's row, locked, for a write whose permission was checked through
    another record (an opportunity the user may move). Sales writes take it first in their transaction, before any
    row of their own, so a transfer or the fallback job never interleaves with them and locks come in one order."""
    return Customer.objects.for_tenant(user.tenant).select_for_update(of=("self",)).get(pk=pk)


def get_contact_for_user(user: User, customer: Customer, pk: int) -> Contact:
    """A contact of `customer` (which the caller got through get_customer_for_user), else 404."""
    return get_object_or_404(Contact.objects.for_tenant(user.tenant), pk=pk, customer=customer)


def get_pool_customer_for_user(user: User, pk: int) -> Customer:
    """An unowned customer in a pool `user` sees, else 404."""
    return get_object_or_404(Customer.objects.in_pools_for(user).select_related("pool", "level"), pk=pk)


def get_rule_for_admin(user: User, pk: int) -> AssignmentRule:
    """The tenant's rule, else 404 (also for another tenant's id); then 403 for anyone but an admin."""
    rule = get_object_or_404(AssignmentRule.objects.for_tenant(user.tenant).select_related("team"), pk=pk)
    require_admin(user)
    return rule


def sees_personal_data(user: User, customer: Customer) -> bool:
    """Whether `user` sees the phones and emails of `customer`'s contacts unmasked: only on the customers they own
    (个人信息保护法). Everyone else sees them masked until they reveal one, which is logged and capped
    (customers.services.privacy)."""
    return customer.owner_id is not None and customer.owner_id == user.pk


def can_edit(user: User, customer: Customer) -> bool:
    return Customer.objects.editable_by(user).filter(pk=customer.pk).exists()


def can_manage(user: User, customer: Customer) -> bool:
    """Transfer, share and delete: the owner's manager or an admin (and the owner for share/delete)."""
    return Customer.objects.managed_by(user).filter(pk=customer.pk).exists()


def require_edit(user: User, customer: Customer) -> None:
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may see this customer but not change it."))


def may_merge(user: User) -> bool:
    return is_tenant_user(user) and user.has_any_role(Role.ADMIN, Role.MANAGER)


def mergeable_by(user: User):
    """The customers `user` may merge: those they manage (their teams' for a manager, all owned for an admin)."""
    if not may_merge(user):
        return Customer.objects.none()
    return Customer.objects.managed_by(user)


def can_export(user: User) -> bool:
    return is_tenant_user(user) and user.has_any_role(Role.ADMIN, Role.MANAGER)


def require_export(user: User) -> None:
    if not can_export(user):
        raise PermissionDenied(_("Only managers and administrators export customers."))


def can_see_health(user) -> bool:
    return is_tenant_user(user) and user.has_any_role(Role.ADMIN, Role.MANAGER)
