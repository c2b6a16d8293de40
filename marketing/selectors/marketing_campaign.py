"""Reads of marketing campaigns: the list with its figures, one campaign's attribution figures (leads, converted,
opportunities, won amount, cost per lead, cost per won deal, ROI) — all aggregated in SQL over the leads and
opportunities the user may see, so each figure matches the list it links to — and the members."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, Count, DateField, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, JSONObject, TruncMonth

from crm.access import is_tenant_user
from crm.selectors.exchange_rate import ConvertedSum, Rates, rates_for
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


def _won_rows(user, code) -> QuerySet:
    """The won deals a campaign brought (first touch) that `user` sees, summed per currency and month of winning
    (in the company's time zone): the rows the won amount is converted from."""
    month = TruncMonth("closed_at", output_field=DateField(), tzinfo=ZoneInfo(user.tenant.timezone))
    return (
        Opportunity.objects.visible_to(user)
        .filter(status=StageKind.WON)
        .from_campaign(code)
        .order_by()
        .annotate(month=month)
        .values("currency", "month")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .values(row=JSONObject(currency=F("currency"), month=F("month"), total=Cast("total", CharField()), n=F("n")))
    )


def won_amount(rates: Rates, rows: list[dict], currency: str) -> ConvertedSum:
    """A campaign's won amount in its `currency` from its won rows (`_won_rows`), each currency converted with the
    rate of the month the deal was won (crm.selectors.exchange_rate)."""
    total = ConvertedSum(currency)
    for row in rows or []:
        month = dt.date.fromisoformat(str(row["month"])[:10]) if row.get("month") else None
        rates.add(total, Decimal(row["total"]), row["currency"], month, int(row["n"]))
    return total


def roi(won: Decimal, cost: Decimal | None) -> Decimal | None:
    """(won − cost) / cost, as a percentage; None while nothing was spent."""
    if not cost:
        return None
    return ((won - cost) / cost * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def campaigns_with_figures(user, campaigns: QuerySet) -> QuerySet:
    """`campaigns` with their leads and won deals (first touch, per currency and month) annotated: one query
    whatever the number of campaigns. `with_won_amounts` then converts a page of them."""
    leads = (
        Lead.objects.visible_to(user)
        .from_campaign(OuterRef("code"))
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return campaigns.annotate(
        n_leads=Coalesce(Subquery(leads, output_field=IntegerField()), 0),
        won_rows=ArraySubquery(_won_rows(user, OuterRef("code"))),
    ).select_related("owner")


def with_won_amounts(user, campaigns) -> list[MarketingCampaign]:
    """The campaigns of `campaigns_with_figures` with `won_amount` (in each campaign's currency, converted),
    `won_conversion` (rates used, amounts without a rate) and `roi_percent` set; one query for the rates."""
    campaigns = list(campaigns)
    rates = rates_for(user.tenant)
    for campaign in campaigns:
        converted = won_amount(rates, campaign.won_rows, campaign.currency)
        campaign.won_conversion = converted
        campaign.won_amount = converted.total
        campaign.roi_percent = roi(converted.total, campaign.actual_cost)
    return campaigns


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
    # The rates the won amount was converted with, and the won deals without a rate.
    won_conversion: ConvertedSum = field(default_factory=lambda: ConvertedSum(""))

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.cost / self.leads).quantize(CENT, ROUND_HALF_UP) if self.leads else None

    @property
    def cost_per_won(self) -> Decimal | None:
        return (self.cost / self.won).quantize(CENT, ROUND_HALF_UP) if self.won else None

    @property
    def roi_percent(self) -> Decimal | None:
        """(won − cost) / cost, as a percentage; None while nothing was spent."""
        return roi(self.won_amount, self.cost)


def campaign_figures(user, campaign: MarketingCampaign) -> CampaignFigures:
    """A campaign's attribution figures in four queries. Leads: those carrying its code. Opportunities: every
    opportunity of the customers the campaign touched first (`OpportunityQuerySet.from_campaign`). The won amount
    adds the won deals in the campaign's currency, others converted with the rate of the month they were won
    (`won_amount`); deals with no rate are counted in `other_currency_won`, not added."""
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
        )
    )
    converted = won_amount(
        rates_for(user.tenant), [r["row"] for r in _won_rows(user, campaign.code)], campaign.currency
    )
    return CampaignFigures(
        leads=leads["n"],
        converted=leads["converted"],
        opportunities=opportunities["n"],
        won=opportunities["won"],
        won_amount=converted.total,
        other_currency_won=converted.missing,
        cost=campaign.actual_cost or ZERO,
        expected_leads=campaign.expected_leads,
        expected_revenue=campaign.expected_revenue,
        won_conversion=converted,
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
