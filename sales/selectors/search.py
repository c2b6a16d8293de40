"""The top bar search's leads and opportunities: only what the user may see."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from crm.models import User
from crm.registry import SearchHit
from customers.normalize import nfkc
from sales.filters import search_leads
from sales.models import Lead, Opportunity


def lead_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Leads by name or company, phone (or its tail) or email: the lead list's search."""
    rows = search_leads(Lead.objects.visible_to(user), text, user.tenant).order_by("name", "pk")[:limit]
    return [
        SearchHit(title=lead.name, url=reverse("sales:lead_detail", args=[lead.pk]), detail=lead.company)
        for lead in rows
    ]


def opportunity_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Opportunities by their name or their customer's name (prefix; contains from three characters)."""
    text = nfkc(text)
    condition = Q(name__startswith=text) | Q(customer__name__startswith=text)
    if len(text) >= 3:
        condition |= Q(name__icontains=text)
    rows = (
        Opportunity.objects.visible_to(user).filter(condition).select_related("customer").order_by("name", "pk")[:limit]
    )
    return [
        SearchHit(
            title=o.name,
            url=reverse("sales:opportunity_detail", args=[o.pk]),
            detail=o.customer.name if o.customer_id else "",
        )
        for o in rows
    ]
