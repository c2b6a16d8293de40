"""Reads of marketing campaigns: the list with its figures, one campaign's attribution figures (leads, converted,
opportunities, won amount, cost per lead, cost per won deal, ROI) — all aggregated in SQL over the leads and
opportunities the user may see, so each figure matches the list it links to — and the members."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round

from crm.access import is_tenant_user
from customers.filters import search_customers
from customers.models import Contact, Customer
from marketing.models import CampaignMember, MarketingCampaign
from sales.filters import search_leads
from sales.models import Lead, LeadStatus, Opportunity, StageKind

ZERO = Decimal("0")
CENT = Decimal("0.01")


def campaigns_visible_to(user) -> QuerySet:
    """The tenant's marketing campaigns for a sales user (fails closed)."""
    if not is_tenant_user(user):
        return MarketingCampaign.objects.none()
    return MarketingCampaign.objects.filter(tenant_id=user.tenant_id)


def campaigns_with_figures(user, campaigns: QuerySet) -> QuerySet:
    """`campaigns` with their leads and won amount (first touch, in the campaign's currency) annotated: one query
    whatever the number of campaigns."""
    leads = (
        Lead.objects.visible_to(user)
        .from_campaign(OuterRef("code"))
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    won = (
        Opportunity.objects.visible_to(user)
        .filter(status=StageKind.WON, currency=OuterRef("currency"))
        .from_campaign(OuterRef("code"))
        .order_by()
        .values("tenant_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=16, decimal_places=2)
    return (
        campaigns.annotate(
            n_leads=Coalesce(Subquery(leads, output_field=IntegerField()), 0),
            won_amount=Coalesce(Subquery(won, output_field=money), Value(ZERO), output_field=money),
        )
        .annotate(
            roi_percent=Case(
                When(
                    actual_cost__gt=0,
                    then=Round((F("won_amount") - F("actual_cost")) * 100 / F("actual_cost"), 1),
                ),
                default=None,
                output_field=DecimalField(max_digits=20, decimal_places=1),
            )
        )
        .select_related("owner")
    )


@dataclass
class CampaignFigures:
    leads: int
    converted: int
    opportunities: int
    won: int
    won_amount: Decimal
    other_currency_won: int
    cost: Decimal
    expected_leads: int
    expected_revenue: Decimal

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.cost / self.leads).quantize(CENT, ROUND_HALF_UP) if self.leads else None

    @property
    def cost_per_won(self) -> Decimal | None:
        return (self.cost / self.won).quantize(CENT, ROUND_HALF_UP) if self.won else None

    @property
    def roi_percent(self) -> Decimal | None:
        """(won − cost) / cost, as a percentage; None while nothing was spent."""
        if not self.cost:
            return None
        return ((self.won_amount - self.cost) / self.cost * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def campaign_figures(user, campaign: MarketingCampaign) -> CampaignFigures:
    """A campaign's attribution figures in two queries. Leads: those carrying its code. Opportunities: every
    opportunity of the customers the campaign touched first (`OpportunityQuerySet.from_campaign`). The won amount
    adds the won deals in the campaign's currency; deals in other currencies are counted, not added."""
    leads = (
        Lead.objects.visible_to(user)
        .from_campaign(campaign.code)
        .aggregate(n=Count("pk"), converted=Count("pk", filter=Q(status=LeadStatus.CONVERTED)))
    )
    won = Q(status=StageKind.WON)
    opportunities = (
        Opportunity.objects.visible_to(user)
        .from_campaign(campaign.code)
        .aggregate(
            n=Count("pk"),
            won=Count("pk", filter=won),
            amount=Sum("amount", filter=won & Q(currency=campaign.currency)),
            other=Count("pk", filter=won & ~Q(currency=campaign.currency)),
        )
    )
    return CampaignFigures(
        leads=leads["n"],
        converted=leads["converted"],
        opportunities=opportunities["n"],
        won=opportunities["won"],
        won_amount=opportunities["amount"] or ZERO,
        other_currency_won=opportunities["other"],
        cost=campaign.actual_cost or ZERO,
        expected_leads=campaign.expected_leads,
        expected_revenue=campaign.expected_revenue,
    )


def campaign_members(campaign: MarketingCampaign) -> QuerySet:
    return (
        CampaignMember.objects.filter(tenant_id=campaign.tenant_id, campaign=campaign)
        .select_related("contact", "contact__customer", "lead")
        .order_by("status", "name", "pk")
    )


def member_counts(campaign: MarketingCampaign) -> dict[str, int]:
    return CampaignMember.objects.filter(tenant_id=campaign.tenant_id, campaign=campaign).aggregate(
        invited=Count("pk"), attended=Count("pk", filter=Q(status=CampaignMember.Status.ATTENDED))
    )


CANDIDATES = 20


def member_candidates(user, campaign: MarketingCampaign, text: str) -> dict:
    """Whom "Add members" offers for a search: contacts of the customers the user sees that the customer search
    finds (names, phones, emails, as the customer list searches), and the leads the user sees that the lead search
    finds; at most CANDIDATES customers' contacts and CANDIDATES leads, in three queries, each marked when already
    a member of `campaign`."""
    if not text:
        return {"contacts": [], "leads": []}
    customers = search_customers(Customer.objects.visible_to(user), text, user.tenant, user).order_by("name", "pk")
    contacts = list(
        Contact.objects.filter(tenant_id=user.tenant_id, customer__in=customers.values("pk")[:CANDIDATES])
        .select_related("customer")
        .order_by("customer__name", "-is_primary", "name", "pk")[: CANDIDATES * 3]
    )
    leads = list(
        search_leads(Lead.objects.visible_to(user), text, user.tenant, user).order_by("name", "pk")[:CANDIDATES]
    )
    members = CampaignMember.objects.filter(tenant_id=campaign.tenant_id, campaign=campaign).filter(
        Q(contact__in=[c.pk for c in contacts]) | Q(lead__in=[lead.pk for lead in leads])
    )
    taken = {("contact", m.contact_id) if m.contact_id else ("lead", m.lead_id) for m in members}
    for contact in contacts:
        contact.is_member = ("contact", contact.pk) in taken
    for lead in leads:
        lead.is_member = ("lead", lead.pk) in taken
    return {"contacts": contacts, "leads": leads}
