"""The top bar search's customers and contacts: only what the user may see, and phone digits or emails matched
only on customers the user sees in full (their own), so a search never confirms a masked number digit by digit."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.translation import gettext as _

from crm.expressions import SortedApart, StartsWith
from crm.models import User
from crm.registry import SearchHit
from customers.filters import SHOWN_PHONE_TAIL, search_customers
from customers.models import Contact, Customer
from customers.normalize import nfkc, normalize_email, normalize_phone


def reveals_personal_data(text: str) -> bool:
    """A search by email, or by more phone digits than a masked number shows."""
    if "@" in text:
        return True
    digits = re.sub(r"[\s\-()+]", "", text)
    return digits.isdigit() and len(digits) > SHOWN_PHONE_TAIL


def customer_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Customers by name, pinyin or initials, contact name, phone (tail) or email: the customer list's search; the
    first by name of the matches (found on the search's indexes, then sorted: `SortedApart`)."""
    customers = Customer.objects.visible_to(user)
    if reveals_personal_data(nfkc(text)):
        customers = customers.filter(owner=user)
    rows = search_customers(customers, text, user.tenant, user).first_joined(
        limit, (SortedApart("name"), "pk"), joined=("owner",)
    )
    return [
        SearchHit(
            title=c.name,
            url=reverse("customers:detail", args=[c.pk]),
            detail=c.owner.full_name if c.owner_id and c.owner_id != user.pk else "",
        )
        for c in rows
    ]


def contact_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Contacts by name prefix; by phone or email only those of the user's own customers."""
    text = nfkc(text)
    contacts = Contact.objects.visible_to(user).filter(erased_at__isnull=True)
    if "@" in text:
        contacts = contacts.filter(customer__owner=user, email=normalize_email(text))
    elif reveals_personal_data(text):
        phone = normalize_phone(text, user.tenant.phone_region or "CN")
        contacts = contacts.filter(customer__owner=user)
        if phone:
            contacts = contacts.filter(mobile=phone) | contacts.filter(phone=phone)
        else:
            digits = re.sub(r"\D", "", text)
            contacts = contacts.filter(mobile__endswith=digits) | contacts.filter(phone__endswith=digits)
    else:
        # `StartsWith`, not `__startswith`: the name's pattern index serves it under row-level security.
        contacts = contacts.filter(StartsWith("name", text))
    rows = contacts.first_joined(limit, (SortedApart("name"), "pk"), joined=("customer",))
    return [
        SearchHit(
            title=c.name,
            url=reverse("customers:detail", args=[c.customer_id]),
            detail=_("at %(customer)s") % {"customer": c.customer.name},
        )
        for c in rows
    ]
