"""Marketing consent as the messaging layer asks it (crm.registry.MarketingConsent): which contacts may not be sent
marketing messages, and why."""

from __future__ import annotations

from customers.models import Contact


def marketing_refusals(tenant_id: int, contact_ids: list[int]) -> dict[int, str]:
    """{contact id: reason} for the contacts of `contact_ids` that may not get marketing messages: erased,
    unsubscribed, without consent, or not a contact of the tenant. One query."""
    rows = Contact.objects.filter(tenant_id=tenant_id, pk__in=contact_ids).values_list(
        "pk", "marketing_consent", "unsubscribed_at", "erased_at"
    )
    refused = dict.fromkeys(contact_ids, "no such contact")
    for pk, consent, unsubscribed_at, erased_at in rows:
        if erased_at is not None:
            refused[pk] = "contact erased"
        elif unsubscribed_at is not None:
            refused[pk] = "unsubscribed"
        elif not consent:
            refused[pk] = "no marketing consent"
        else:
            del refused[pk]
    return refused
