"""Writes of contacts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.api.services.custom_field import custom_values_clean
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from customers.access import lock_customer_for_change
from customers.models import (
    Contact,
    Customer,
)
from customers.normalize import (
    normalize_email,
    normalize_phone,
)
from customers.services.identifier import sync_identifiers

CONTACT_FIELDS = [
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "birthday",
    "lunar_birthday_month",
    "lunar_birthday_day",
    "lunar_birthday_leap",
    "prefers_lunar_birthday",
    "is_primary",
    "notes",
]


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
    lunar_month, lunar_day = cleaned.get("lunar_birthday_month"), cleaned.get("lunar_birthday_day")
    if (lunar_month is None) != (lunar_day is None):
        raise DomainError(_("A lunar birthday needs both its month and its day."), field="lunar_birthday_day")
    if lunar_month is not None and not (1 <= lunar_month <= 12 and 1 <= lunar_day <= 30):
        raise DomainError(_("A lunar month is 1 to 12 and a lunar day 1 to 30."), field="lunar_birthday_day")
    if lunar_month is None:
        cleaned["lunar_birthday_leap"] = False
        cleaned["prefers_lunar_birthday"] = False
    return cleaned


def _apply_consent(contact: Contact, consent: bool | None, acting_user: User) -> None:
    """The contact form's marketing consent: given (again) now by the user, or withdrawn."""
    if consent is None or consent == (contact.marketing_consent and contact.unsubscribed_at is None):
        return
    if consent:
        contact.marketing_consent = True
        contact.consent_at = timezone.now()
        contact.consent_source = _("Contact form (%(user)s)") % {"user": acting_user}
        contact.unsubscribed_at = None
        contact.unsubscribe_source = ""
    else:
        contact.marketing_consent = False
        contact.consent_at = timezone.now()
        contact.consent_source = _("Withdrawn on the contact form (%(user)s)") % {"user": acting_user}


def contact_unsubscribe(*, tenant_id: int, contact_id: int, source: str) -> bool:
    """Record that a contact wants no more marketing messages (the one-click link in a greeting; no login).
    A conditional update: a second click changes nothing. Returns whether this call unsubscribed the contact."""
    with transaction.atomic():
        changed = Contact.objects.filter(tenant_id=tenant_id, pk=contact_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now(), unsubscribe_source=source[:100], updated_at=timezone.now()
        )
        if changed:
            contact = Contact.objects.get(pk=contact_id)
            audit(
                tenant=contact.tenant,
                actor=None,
                action="contact.unsubscribe",
                obj=contact,
                details={"source": source[:100]},
            )
    return bool(changed)


def contact_save(
    *, acting_user: User, customer: Customer, data: dict[str, Any], contact: Contact | None = None
) -> Contact:
    """Add or change a contact; its phones and email are checked against every other live customer. A
    `marketing_consent` in `data` records consent given or withdrawn, with the date and the user as its source."""
    tenant = customer.tenant
    cleaned = clean_contact(data, tenant)
    if data.get("custom") is not None:
        existing = contact.custom if contact is not None else None
        cleaned["custom"] = custom_values_clean(
            tenant_id=tenant.pk, kind="contact", values=data["custom"], existing=existing
        )
    consent = data.get("marketing_consent")
    with transaction.atomic():
        customer = lock_customer_for_change(acting_user, customer.pk)
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
            contact = Contact(tenant=tenant, customer=customer, created_by=acting_user, **cleaned)
            _apply_consent(contact, consent, acting_user)
            contact.save()
            action = "contact.create"
        else:
            if contact.customer_id != customer.pk:
                raise PermissionDenied
            for key, value in cleaned.items():
                setattr(contact, key, value)
            _apply_consent(contact, consent, acting_user)
            contact.save()
            action = "contact.update"
        sync_identifiers(customer, acting_user)
        audit(tenant=tenant, actor=acting_user, action=action, obj=contact, details={"customer": customer.pk})
    return contact


def contact_delete(*, acting_user: User, contact: Contact) -> None:
    with transaction.atomic():
        customer = lock_customer_for_change(acting_user, contact.customer_id)
        # A merge may have moved the contact to the customer it kept: it is no longer this customer's to remove.
        if not Contact.objects.filter(pk=contact.pk, customer=customer).exists():
            raise PermissionDenied
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
