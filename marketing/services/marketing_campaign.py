"""Writes of marketing campaigns: create or change one (managers and admins)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from marketing.access import require_campaign_manager
from marketing.models import MarketingCampaign

CAMPAIGN_FIELDS = [
    "name",
    "kind",
    "status",
    "code",
    "starts_on",
    "ends_on",
    "owner",
    "currency",
    "budget",
    "actual_cost",
    "expected_leads",
    "expected_revenue",
    "description",
]


def marketing_campaign_save(
    *, acting_user: User, data: dict[str, Any], campaign: MarketingCampaign | None = None
) -> MarketingCampaign:
    """Create or change a marketing campaign. Its attribution code (one word, matched exactly) is unique in the company;
    an owner must be a user of the company; the end is not before the start."""
    require_campaign_manager(acting_user)
    values = {k: data[k] for k in CAMPAIGN_FIELDS if k in data}
    if "code" in values:
        values["code"] = (values["code"] or "").strip()
        if not values["code"] or any(ch.isspace() for ch in values["code"]):
            raise DomainError(_("An attribution code is one word without spaces."), field="code")
    owner = values.get("owner")
    if owner is not None and owner.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose an owner from your company."), field="owner")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and ends < starts:
        raise DomainError(_("The campaign cannot end before it starts."), field="ends_on")
    created = campaign is None
    try:
        with transaction.atomic():
            if campaign is None:
                campaign = MarketingCampaign(
                    tenant=acting_user.tenant, created_by=acting_user, currency=acting_user.tenant.currency
                )
            before = {k: str(getattr(campaign, k)) for k in ("status", "budget", "actual_cost", "code")}
            for key, value in values.items():
                setattr(campaign, key, value)
            campaign.save()
            after = {k: str(getattr(campaign, k)) for k in before}
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="marketing_campaign.create" if created else "marketing_campaign.update",
                obj=campaign,
                details={k: [before[k], after[k]] for k in before if before[k] != after[k] and not created},
            )
    except IntegrityError as exc:
        if "marketing_mcampaign_unique_code" in str(exc):
            raise DomainError(_("Another campaign uses this attribution code."), field="code") from exc
        raise
    return campaign
