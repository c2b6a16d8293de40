"""Writes of contacts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from customers.access import require_edit
from customers.models import (
    Contact,
    Customer,
)
from customers.normalize import (
    normalize_email,
    normalize_phone,
)
from customers.services.identifier import sync_identifiers

CONTACT_FIELDS = ["name", "title", "mobile", "phone", "email", "wechat", "birthday", "is_primary", "notes"]


def clean_phone(value: str, tenant: Tenant, field: str) -> str:
    if not value:
        return ""
    normalized = normalize_phone(value, tenant.phone_region or "CN")
    if normalized is None:
        raise DomainError(_("“%(value)s” is not a valid phone number.") % {"value": value}, field=field)
    return normalized


def clean_contact(data: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    cleaned = {k: data.get(k) for k in CONTACT_FIELDS if k in data}
    cleaned["name"] = (cleaned.get("name") or "").strip()
    if not cleaned["name"]:
        raise DomainError(_("A contact needs a name."), field="contact_name")
    for field in ("mobile", "phone"):
        cleaned[field] = clean_phone(cleaned.get(field) or "", tenant, field)
    cleaned["email"] = normalize_email(cleaned.get("email") or "")
    birthday = cleaned.get("birthday")
    if birthday and birthday > timezone.localdate():
        raise DomainError(_("A birthday cannot be in the future."), field="birthday")
    return cleaned


def contact_save(
    *, acting_user: User, customer: Customer, data: dict[str, Any], contact: Contact | None = None
) -> Contact:
    """Add or change a contact; its phones and email are checked against every other live customer."""
    require_edit(acting_user, customer)
    tenant = customer.tenant
    cleaned = clean_contact(data, tenant)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if cleaned.get("is_primary"):
            Contact.objects.filter(customer=customer, is_primary=True).exclude(
                pk=contact.pk if contact else None
            ).update(is_primary=False)
        elif (
            not Contact.objects.filter(customer=customer, is_primary=True)
            .exclude(pk=contact.pk if contact else None)
            .exists()
        ):
            cleaned["is_primary"] = True  # the only contact is the primary one
        if contact is None:
            contact = Contact.objects.create(tenant=tenant, customer=customer, created_by=acting_user, **cleaned)
            action = "contact.create"
        else:
            if contact.customer_id != customer.pk:
                raise PermissionDenied
            for key, value in cleaned.items():
                setattr(contact, key, value)
            contact.save()
            action = "contact.update"
        sync_identifiers(customer, acting_user)
        audit(tenant=tenant, actor=acting_user, action=action, obj=contact, details={"customer": customer.pk})
    return contact


def contact_delete(*, acting_user: User, contact: Contact) -> None:
    customer = contact.customer
    require_edit(acting_user, customer)
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        was_primary = contact.is_primary
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="contact.delete",
            obj=contact,
            details={"customer": customer.pk, "name": contact.name},
        )
        contact.delete()
        if was_primary:
            nxt = Contact.objects.filter(customer=customer).order_by("pk").first()
            if nxt:
                nxt.is_primary = True
                nxt.save(update_fields=["is_primary"])
        sync_identifiers(customer, acting_user)
