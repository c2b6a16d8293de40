"""Duplicate leads are kept, flagged and linked to their holder (a customer or an earlier lead), whose owner is
told no more than they may see; writes of one identifier are serialised by an advisory lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.locks import LEAD_IDENTIFIER
from crm.models import Tenant, User
from crm.services.notification import lazy_format, notify
from customers.models import Customer
from customers.normalize import normalize_company_name
from customers.services.identifier import Identifier, describe_holder, find_duplicate, may_name_holder
from sales.models import (
    DuplicateKind,
    Lead,
    LeadOrigin,
)

KIND_LABELS_LAZY = {
    DuplicateKind.PHONE: gettext_lazy("phone number"),
    DuplicateKind.EMAIL: gettext_lazy("email"),
    DuplicateKind.COMPANY: gettext_lazy("company name"),
}


def lead_identifiers(values: dict[str, Any]) -> list[Identifier]:
    """The identifiers a lead shares with leads and customers: normalized phone, email and company name."""
    found = []
    if values.get("phone"):
        found.append(Identifier(DuplicateKind.PHONE, values["phone"], "phone"))
    if values.get("email"):
        found.append(Identifier(DuplicateKind.EMAIL, values["email"], "email"))
    company_key = normalize_company_name(values.get("company") or "")
    if company_key:
        found.append(Identifier(DuplicateKind.COMPANY, company_key, "company"))
    return found


def _lock_identifiers(tenant_id: int, identifiers: Sequence[Identifier]) -> None:
    """Serialize the creation of leads sharing an identifier: of two identical leads sent at once, the second
    waits for the first to commit and is flagged as its duplicate. Locks are taken in a fixed order."""
    keys = sorted({f"{tenant_id}:{i.kind}:{i.value}" for i in identifiers})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LEAD_IDENTIFIER, key])


def _lead_match_query(identifiers: Iterable[Identifier]) -> Q | None:
    query = None
    for ident in identifiers:
        field = {"phone": "phone", "email": "email", "company": "company_key"}[ident.kind]
        part = Q(**{field: ident.value})
        query = part if query is None else query | part
    return query


def find_lead_match(tenant_id: int, identifiers, exclude_pk: int | None = None):
    """(identifier, lead) of the earliest lead sharing an identifier (originals before duplicates), or None."""
    query = _lead_match_query(identifiers)
    if query is None:
        return None
    leads = Lead.objects.filter(tenant_id=tenant_id).filter(query).select_related("owner")
    if exclude_pk is not None:
        leads = leads.exclude(pk=exclude_pk)
    lead = leads.order_by("is_duplicate", "created_at", "pk").first()
    if lead is None:
        return None
    ident = next(i for i in identifiers if _lead_value(lead, i.kind) == i.value)
    return ident, lead


def _lead_value(lead: Lead, kind: str) -> str:
    return {"phone": lead.phone, "email": lead.email, "company": lead.company_key}[kind]


@dataclass
class DuplicateMatch:
    kind: str
    lead: Lead | None = None
    customer: Customer | None = None


def detect_duplicate(tenant: Tenant, values: dict[str, Any], exclude_pk: int | None = None) -> DuplicateMatch | None:
    """What an existing lead or customer of the tenant shares with these values (both may match)."""
    identifiers = lead_identifiers(values)
    if not identifiers:
        return None
    customer_hit = find_duplicate(tenant, identifiers)
    lead_hit = find_lead_match(tenant.pk, identifiers, exclude_pk=exclude_pk)
    if customer_hit is None and lead_hit is None:
        return None
    kind = (customer_hit or lead_hit)[0].kind
    return DuplicateMatch(
        kind=kind,
        customer=customer_hit[1] if customer_hit else None,
        lead=lead_hit[1] if lead_hit else None,
    )


def _apply_match(lead: Lead, match: DuplicateMatch | None) -> None:
    lead.is_duplicate = match is not None
    lead.duplicate_kind = match.kind if match else ""
    lead.duplicate_of_lead = match.lead if match else None
    lead.duplicate_of_customer = match.customer if match else None


def describe_lead_holder(holder: Lead, user: User | None) -> str:
    """Who holds a lead, saying no more than `user` may see: its name only if visible to them."""
    visible = user is not None and Lead.objects.visible_to(user).filter(pk=holder.pk).exists()
    if holder.owner_id is None:
        where = _("not assigned yet")
    else:
        where = _("held by %(owner)s") % {"owner": holder.owner.full_name}
    if visible:
        return _("lead “%(name)s”, %(where)s") % {"name": str(holder), "where": where}
    return _("an existing lead, %(where)s") % {"where": where}


def duplicate_notes(lead: Lead, user: User) -> list[dict[str, Any]]:
    """What the lead's duplicate banner says to `user`: per matched record, a sentence and a link if they may
    open it."""
    if not lead.is_duplicate:
        return []
    what = KIND_LABELS_LAZY.get(lead.duplicate_kind, "")
    notes = []
    if lead.duplicate_of_customer_id:
        holder = Customer.objects.filter(pk=lead.duplicate_of_customer_id).select_related("owner", "pool").first()
        if holder is not None and holder.deleted_at is None:
            visible = may_name_holder(holder, user, kind=lead.duplicate_kind)
            notes.append(
                {
                    "text": _("Its %(what)s matches %(holder)s.")
                    % {"what": what, "holder": describe_holder(holder, user, kind=lead.duplicate_kind)},
                    "url": reverse("customers:detail", args=[holder.pk]) if visible else "",
                }
            )
    if lead.duplicate_of_lead_id:
        holder = Lead.objects.filter(pk=lead.duplicate_of_lead_id).select_related("owner").first()
        if holder is not None:
            visible = Lead.objects.visible_to(user).filter(pk=holder.pk).exists()
            notes.append(
                {
                    "text": _("Its %(what)s matches %(holder)s.")
                    % {"what": what, "holder": describe_lead_holder(holder, user)},
                    "url": reverse("sales:lead_detail", args=[holder.pk]) if visible else "",
                }
            )
    if not notes:
        notes.append({"text": _("It matched a record that no longer exists."), "url": ""})
    return notes


def _held_by_lazy(lead: Lead):
    if lead.owner_id is None:
        return gettext_lazy("not assigned yet")
    return lazy_format(gettext_lazy("held by %(name)s"), name=lead.owner.full_name)


def notify_duplicate_holders(lead: Lead) -> None:
    """Tell the holders of what a new lead matches (a customer's owner, a lead's owner): someone asking again is a
    buying signal. They learn who holds the new lead, not more; the link is to their own record."""
    what = KIND_LABELS_LAZY.get(lead.duplicate_kind, "")
    origin = LeadOrigin(lead.origin).label
    # The new lead's own owner already has it in front of them.
    told: set[int] = {lead.owner_id} if lead.owner_id else set()
    customer = lead.duplicate_of_customer
    if customer is not None and customer.owner_id and customer.owner_id not in told and customer.owner.is_active:
        told.add(customer.owner_id)
        notify(
            recipient=customer.owner,
            title=lazy_format(gettext_lazy("New enquiry matching your customer %(name)s"), name=customer.name),
            body=lazy_format(
                gettext_lazy(
                    "A new lead (%(origin)s) has the same %(what)s; it is %(held)s. "
                    "Someone asking again is a buying signal: follow up."
                ),
                origin=origin,
                what=what,
                held=_held_by_lazy(lead),
            ),
            url=reverse("customers:detail", args=[customer.pk]),
            key=f"lead-duplicate:{lead.pk}:customer:{customer.pk}",
            email=False,
        )
    holder = lead.duplicate_of_lead
    if holder is not None and holder.owner_id and holder.owner_id not in told and holder.owner.is_active:
        notify(
            recipient=holder.owner,
            title=lazy_format(gettext_lazy("New enquiry matching your lead %(name)s"), name=str(holder)),
            body=lazy_format(
                gettext_lazy(
                    "A new lead (%(origin)s) has the same %(what)s; it is %(held)s. "
                    "Someone asking again is a buying signal: follow up."
                ),
                origin=origin,
                what=what,
                held=_held_by_lazy(lead),
            ),
            url=reverse("sales:lead_detail", args=[holder.pk]),
            key=f"lead-duplicate:{lead.pk}:lead:{holder.pk}",
            email=False,
        )
