"""Dedup and anti-collision (防撞单): a customer's identifiers (phone, email, company name, credit code),
kept unique among live customers by the database; refusals say who holds one, no more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Tenant, User
from customers.access import sees_personal_data
from customers.models import (
    Contact,
    Customer,
    CustomerIdentifier,
)
from customers.normalize import (
    normalize_company_name,
    normalize_credit_code,
    normalize_email,
)


class DuplicateCustomer(DomainError):
    """An identifier of the new or changed customer already belongs to a live customer (防撞单)."""

    def __init__(self, message: str, *, field: str | None = None, holder: Customer | None = None):
        super().__init__(message, field=field)
        self.holder = holder


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str
    field: str


def identifiers_of(customer_data: dict[str, Any], contacts: Iterable[dict[str, Any]]) -> list[Identifier]:
    found: dict[tuple[str, str], Identifier] = {}

    def add(kind: str, value: str, field: str) -> None:
        if value and (kind, value) not in found:
            found[(kind, value)] = Identifier(kind, value, field)

    if customer_data.get("kind", Customer.Kind.COMPANY) == Customer.Kind.COMPANY:
        add(CustomerIdentifier.Kind.COMPANY, normalize_company_name(customer_data.get("name", "")), "name")
    add(CustomerIdentifier.Kind.CREDIT_CODE, normalize_credit_code(customer_data.get("credit_code", "")), "credit_code")
    for contact in contacts:
        for field in ("mobile", "phone"):
            if contact.get(field):
                add(CustomerIdentifier.Kind.PHONE, contact[field], field)
        if contact.get("email"):
            add(CustomerIdentifier.Kind.EMAIL, normalize_email(contact["email"]), "email")
    return list(found.values())


# Identifiers shown unmasked wherever the customer's name is (the pool, lists): naming their holder confirms nothing.
UNMASKED_KINDS = (CustomerIdentifier.Kind.COMPANY,)


def may_name_holder(
    holder: Customer, user: User | None, *, kind: str | None = None, visible: bool | None = None
) -> bool:
    """Whether `user` may be told which customer matched a `kind` identifier (its name, a link to it): only when it
    is visible to them and the match confirms nothing masked. A phone, an email or a credit code is masked outside
    one's own customers (the pool, a colleague's customer), so naming the customer that holds one would reveal it
    without a logged reveal. `visible`, when the caller knows it (`holders_visible`), saves the query."""
    return (
        user is not None
        and (kind in UNMASKED_KINDS or sees_personal_data(user, holder))
        and (visible if visible is not None else Customer.objects.visible_to(user).filter(pk=holder.pk).exists())
    )


def holders_visible(user: User | None, holders: Iterable[Customer]) -> set[int]:
    """The ids of `holders` that `user` may see, in one query (an import names the holders of a whole batch). Only
    owned holders are asked about: `visible_to` never holds a pool customer, so a batch whose holders are all in
    pools asks nothing."""
    ids = {holder.pk for holder in holders if holder.owner_id is not None}
    if user is None or not ids:
        return set()
    return set(Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


def describe_holder(
    holder: Customer, user: User | None, *, kind: str | None = None, visible: bool | None = None
) -> str:
    """Who holds a customer that matched a `kind` identifier, saying no more than `user` may see (may_name_holder);
    the pool or the owner is always named, so the user knows where to turn."""
    visible = may_name_holder(holder, user, kind=kind, visible=visible)
    if holder.owner_id is None:
        where = _("in the pool “%(pool)s”") % {"pool": holder.pool.name}
    else:
        where = _("held by %(owner)s") % {"owner": holder.owner.full_name}
    if visible:
        return _("customer “%(name)s”, %(where)s") % {"name": holder.name, "where": where}
    return _("an existing customer %(where)s") % {"where": where}


KIND_LABELS = {
    CustomerIdentifier.Kind.PHONE: lambda: _("This phone number"),
    CustomerIdentifier.Kind.EMAIL: lambda: _("This email"),
    CustomerIdentifier.Kind.COMPANY: lambda: _("This company name"),
    CustomerIdentifier.Kind.CREDIT_CODE: lambda: _("This unified social credit code"),
}


def find_duplicate(tenant: Tenant, identifiers: list[Identifier], exclude_pk: int | None = None):
    if not identifiers:
        return None
    query = Q()
    for ident in identifiers:
        query |= Q(kind=ident.kind, value=ident.value)
    taken = (
        CustomerIdentifier.objects.for_tenant(tenant).filter(query).select_related("customer__owner", "customer__pool")
    )
    if exclude_pk is not None:
        taken = taken.exclude(customer_id=exclude_pk)
    row = taken.first()
    if row is None:
        return None
    ident = next(i for i in identifiers if i.kind == row.kind and i.value == row.value)
    return ident, row.customer


def duplicate_error(
    ident: Identifier, holder: Customer, user: User | None, *, visible: bool | None = None
) -> DuplicateCustomer:
    message = _("%(what)s already belongs to %(holder)s.") % {
        "what": KIND_LABELS[ident.kind](),
        "holder": describe_holder(holder, user, kind=ident.kind, visible=visible),
    }
    return DuplicateCustomer(message, field=ident.field, holder=holder)


def _write_identifiers(customer: Customer, identifiers: list[Identifier], user: User | None) -> None:
    """Replace the customer's identifier rows. The unique index decides races: the loser gets the same message."""
    CustomerIdentifier.objects.filter(customer=customer).delete()
    duplicate = find_duplicate(customer.tenant, identifiers, exclude_pk=customer.pk)
    if duplicate:
        raise duplicate_error(*duplicate, user)
    try:
        with transaction.atomic():
            CustomerIdentifier.objects.bulk_create(
                [
                    CustomerIdentifier(tenant_id=customer.tenant_id, customer=customer, kind=i.kind, value=i.value)
                    for i in identifiers
                ]
            )
    except IntegrityError as exc:
        duplicate = find_duplicate(customer.tenant, identifiers, exclude_pk=customer.pk)
        if duplicate:
            raise duplicate_error(*duplicate, user) from exc
        raise


def _contact_rows(customer: Customer) -> list[dict[str, Any]]:
    return list(Contact.objects.filter(customer=customer).values("mobile", "phone", "email"))


def sync_identifiers(customer: Customer, user: User | None) -> None:
    data = {"kind": customer.kind, "name": customer.name, "credit_code": customer.credit_code}
    _write_identifiers(customer, identifiers_of(data, _contact_rows(customer)), user)
