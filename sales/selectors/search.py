"""The top bar search's leads and opportunities: only what the user may see."""

from __future__ import annotations

from django.urls import reverse

from crm.expressions import SortedApart
from crm.models import User
from crm.registry import SearchHit
from customers.normalize import nfkc
from customers.selectors.search import reveals_personal_data
from sales.filters import search_leads, search_opportunities
from sales.models import Lead, Opportunity


def lead_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Leads by name or company, phone (or its tail) or email: the lead list's search, with phones and emails
    matched only on the user's own leads (beyond the tail a mask shows)."""
    leads = Lead.objects.visible_to(user)
    if reveals_personal_data(nfkc(text)):
        # Phones and emails are masked on others' leads: matched only on the user's own.
        leads = leads.filter(owner=user)
    rows = search_leads(leads, text, user.tenant, user).order_by(SortedApart("name"), "pk")[:limit]
    return [
        SearchHit(title=lead.name, url=reverse("sales:lead_detail", args=[lead.pk]), detail=lead.company)
        for lead in rows
    ]


def opportunity_hits(user: User, text: str, limit: int) -> list[SearchHit]:
    """Opportunities by their name (prefix; contains from three characters) or their customer's name (prefix): the
    opportunity list's search, the first by name of the matches."""
    rows = search_opportunities(Opportunity.objects.visible_to(user), text, user.tenant, user).first_joined(
        limit, (SortedApart("name"), "pk"), joined=("customer",)
    )
    return [
        SearchHit(
            title=o.name,
            url=reverse("sales:opportunity_detail", args=[o.pk]),
            detail=o.customer.name if o.customer_id else "",
        )
        for o in rows
    ]
