"""Who wrote in: the customer and contact of a message's sender (the service desk's email and public form).

Matched by email as the customers' dedup matches it: a contact with that address, else the customer that holds it
as an identifier. An unknown sender becomes a contact of the customer named after the email's domain (or the
company they typed), found by its folded company name so it is never created twice; senders at public webmail
domains go to the tenant's "unknown senders" customer. New customers wait in the tenant's default pool for a rep
to claim them. A race with another message from the same domain loses to the unique identifier index and reads
the winner's customer."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import Tenant
from crm.services.audit import audit
from customers.models import Contact, Customer, CustomerIdentifier, OwnershipEvent
from customers.normalize import normalize_company_name, normalize_email, normalize_phone
from customers.services.customer import _set_search_fields, record_ownership_event
from customers.services.identifier import DuplicateCustomer, sync_identifiers
from customers.services.tenant import default_pool

WEBMAIL = frozenset(
    {
        "qq.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "foxmail.com",
        "139.com", "189.cn", "gmail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
        "me.com", "msn.com", "proton.me", "protonmail.com",
    }
)  # fmt: skip


def _by_email(tenant: Tenant, email: str) -> tuple[Customer, Contact | None] | None:
    contact = (
        Contact.objects.filter(tenant=tenant, email__iexact=email, customer__deleted_at__isnull=True)
        .select_related("customer")
        .order_by("-is_primary", "pk")
        .first()
    )
    if contact is not None:
        return contact.customer, contact
    ident = (
        CustomerIdentifier.objects.filter(tenant=tenant, kind="email", value=email).select_related("customer").first()
    )
    return (ident.customer, None) if ident is not None else None


def _by_company(tenant: Tenant, name: str) -> Customer | None:
    key = normalize_company_name(name)
    ident = CustomerIdentifier.objects.filter(tenant=tenant, kind="company", value=key).select_related("customer")
    found = ident.first()
    if found is not None:
        return found.customer
    return Customer.objects.filter(tenant=tenant, name=name, deleted_at__isnull=True).order_by("pk").first()


def _company_name(tenant: Tenant, email: str, company: str) -> str:
    if company.strip():
        return company.strip()[:200]
    domain = email.rpartition("@")[2]
    if not domain or domain in WEBMAIL:
        with translation.override(tenant.language):
            return _("Unknown senders")
    return domain[:200]


def _new_customer(tenant: Tenant, name: str) -> Customer:
    customer = Customer(
        tenant=tenant, name=name, pool=default_pool(tenant), source=_source(tenant), pooled_at=timezone.now()
    )
    _set_search_fields(customer)
    customer.save()
    sync_identifiers(customer, None)
    record_ownership_event(customer, reason=OwnershipEvent.Reason.CREATE, actor=None, to_pool=customer.pool)
    audit(tenant=tenant, actor=None, action="customer.create", obj=customer, details={"from": "inbound"})
    return customer


def _source(tenant: Tenant) -> str:
    with translation.override(tenant.language):
        return _("Service desk")[:50]


def customer_for_sender(
    *, tenant: Tenant, email: str, name: str = "", company: str = "", phone: str = ""
) -> tuple[Customer, Contact]:
    """The sender's customer and contact, created when unknown (never a duplicate)."""
    email = normalize_email(email)
    found = _by_email(tenant, email)
    if found is not None and found[1] is not None:
        return found  # type: ignore[return-value]
    display = (name or "").strip()[:100] or email.partition("@")[0][:100] or email
    mobile = normalize_phone(phone, tenant.phone_region or "CN") or "" if phone else ""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                customer = found[0] if found is not None else None
                if customer is None:
                    company_name = _company_name(tenant, email, company)
                    customer = _by_company(tenant, company_name) or _new_customer(tenant, company_name)
                contact = Contact.objects.create(
                    tenant=tenant, customer=customer, name=display, email=email, mobile=mobile
                )
                sync_identifiers(customer, None)
                audit(tenant=tenant, actor=None, action="contact.create", obj=contact, details={"from": "inbound"})
                return customer, contact
        except (IntegrityError, DuplicateCustomer):
            # Another message created it at the same moment (or the phone belongs elsewhere): read theirs.
            found = _by_email(tenant, email)
            if found is not None and found[1] is not None:
                return found  # type: ignore[return-value]
            mobile = ""
    raise RuntimeError("Could not match the sender to a customer")
