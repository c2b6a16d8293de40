"""Writes of campaign members: add the people of a sign-in or invitation list to a campaign, or people picked by
hand."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import Contact, Customer
from marketing.access import require_campaign_manager
from marketing.models import CampaignMember, MarketingCampaign
from sales.models import Lead, LeadOrigin
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


def members_pick(
    *,
    acting_user: User,
    campaign: MarketingCampaign,
    contact_ids: list[int],
    lead_ids: list[int],
    status: str = CampaignMember.Status.INVITED,
) -> int:
    """Add contacts (of customers the user sees) and leads (that the user sees) picked by hand to `campaign`. Someone
    already a member is refused by name, and nothing is added; so is a person the user may not see (another
    company's, deleted). Returns how many members were added."""
    require_campaign_manager(acting_user)
    if status not in CampaignMember.Status.values:
        raise DomainError(_("Choose invited or attended."), field="status")
    contact_ids, lead_ids = sorted(set(contact_ids)), sorted(set(lead_ids))
    if not contact_ids and not lead_ids:
        raise DomainError(_("Pick at least one person to add."), field="people")
    with transaction.atomic():
        campaign = MarketingCampaign.objects.select_for_update().get(pk=campaign.pk, tenant_id=acting_user.tenant_id)
        contacts = list(
            Contact.objects.filter(
                tenant_id=acting_user.tenant_id,
                pk__in=contact_ids,
                customer__in=Customer.objects.visible_to(acting_user).values("pk"),
            )
        )
        leads = list(Lead.objects.visible_to(acting_user).filter(pk__in=lead_ids))
        if len(contacts) != len(contact_ids) or len(leads) != len(lead_ids):
            raise DomainError(_("Some of the people picked are no longer available: search again."), field="people")
        existing = CampaignMember.objects.filter(tenant_id=acting_user.tenant_id, campaign=campaign).filter(
            Q(contact_id__in=contact_ids) | Q(lead_id__in=lead_ids)
        )
        names = sorted(existing.values_list("name", flat=True))
        if names:
            raise DomainError(
                _("Already members of this campaign: %(names)s. Untick them and add the others.")
                % {"names": "、".join(names)},
                field="people",
            )
        new = [
            CampaignMember(
                tenant_id=acting_user.tenant_id,
                created_by=acting_user,
                campaign=campaign,
                contact=contact,
                name=contact.name[:100],
                status=status,
            )
            for contact in contacts
        ] + [
            CampaignMember(
                tenant_id=acting_user.tenant_id,
                created_by=acting_user,
                campaign=campaign,
                lead=lead,
                name=lead.name[:100],
                status=status,
            )
            for lead in leads
        ]
        CampaignMember.objects.bulk_create(new)
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="campaign_member.add",
            obj=campaign,
            details={"contacts": contact_ids, "leads": lead_ids, "status": status},
        )
    return len(new)
