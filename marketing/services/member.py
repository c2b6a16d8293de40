"""Writes of campaign members: add the people of a sign-in or invitation list to a campaign."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from crm.models import User
from marketing.access import require_campaign_manager
from marketing.models import CampaignMember, MarketingCampaign
from sales.models import LeadOrigin
from sales.services.lead import clean_lead_data, create_lead


def members_add(*, acting_user: User, campaign: MarketingCampaign, people: list[dict[str, Any]]) -> int:
    """Add people to `campaign`, each given as a contact, a lead, or the values of a new lead (`lead_values`), with
    a member status. A new lead carries the campaign's code and nobody holds it yet (through the sales service of
    every single lead: duplicate check, scoring, audit). Someone already a member keeps one row; "attended" wins
    over "invited". Returns how many members were added."""
    require_campaign_manager(acting_user)
    tenant = acting_user.tenant
    with transaction.atomic():
        for person in people:
            if person.get("contact") is None and person.get("lead") is None and person.get("lead_values"):
                values = clean_lead_data(tenant, {**person["lead_values"], "campaign": campaign.code})
                person["lead"] = create_lead(
                    tenant=tenant, values=values, owner=None, origin=LeadOrigin.IMPORT, actor=acting_user
                )
        wanted: dict[tuple[str, int], dict[str, Any]] = {}
        for person in people:
            key = ("contact", person["contact"].pk) if person.get("contact") else ("lead", person["lead"].pk)
            if key in wanted and wanted[key]["status"] == CampaignMember.Status.ATTENDED:
                continue
            wanted[key] = person
        contact_ids = [pk for kind, pk in wanted if kind == "contact"]
        lead_ids = [pk for kind, pk in wanted if kind == "lead"]
        existing = CampaignMember.objects.filter(tenant_id=tenant.pk, campaign=campaign).filter(
            Q(contact_id__in=contact_ids) | Q(lead_id__in=lead_ids)
        )
        have = {("contact", m.contact_id) if m.contact_id else ("lead", m.lead_id): m for m in existing}
        attended = [
            m.pk
            for key, m in have.items()
            if wanted[key]["status"] == CampaignMember.Status.ATTENDED and m.status != CampaignMember.Status.ATTENDED
        ]
        if attended:
            CampaignMember.objects.filter(pk__in=attended).update(status=CampaignMember.Status.ATTENDED)
        new = [
            CampaignMember(
                tenant=tenant,
                created_by=acting_user,
                campaign=campaign,
                contact=person.get("contact") if kind == "contact" else None,
                lead=person.get("lead") if kind == "lead" else None,
                name=person["name"][:100],
                status=person["status"],
            )
            for (kind, _pk), person in wanted.items()
            if (kind, _pk) not in have
        ]
        CampaignMember.objects.bulk_create(new)
    return len(new)
