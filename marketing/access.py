"""Who may use customer care and marketing campaigns, and the one way to fetch each for a user."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from crm.access import is_sales_user, is_tenant_user
from crm.models import Role
from marketing.models import Blast, CareCampaign, MarketingCampaign, Segment

CARE_ROLES = (Role.ADMIN, Role.MANAGER)


def can_manage_care(user) -> bool:
    return bool(user.is_authenticated and user.tenant_id and user.has_any_role(*CARE_ROLES))


def require_care(user) -> None:
    if not can_manage_care(user):
        raise PermissionDenied


def get_campaign_for_user(user, pk: int) -> CareCampaign:
    """The campaign, if it is the user's tenant's and the user runs customer care; else 404 (another tenant's id
    answers as a missing one) or 403."""
    if not (user.is_authenticated and user.tenant_id):
        raise Http404
    campaign = CareCampaign.objects.filter(tenant_id=user.tenant_id, pk=pk).select_related("tenant").first()
    if campaign is None:
        raise Http404
    require_care(user)
    return campaign


def require_segments(user) -> None:
    """Segments are made and changed by managers and admins (every user keeps personal filters as saved views)."""
    require_care(user)


def can_change_segment(user, segment: Segment) -> bool:
    return bool(user.has_any_role(Role.ADMIN) or segment.owner_id == user.pk)


def get_segment_for_user(user, pk: int) -> Segment:
    """The segment, if the user sees it (Segment.objects.visible_to); else 404, for a missing id and another's."""
    segment = Segment.objects.visible_to(user).filter(pk=pk).select_related("tenant", "owner", "team").first()
    if segment is None:
        raise Http404
    return segment


# --- marketing campaigns ---------------------------------------------------------------------------------------
# Sales users see the campaigns and their leads (to share a campaign's form link); only managers and admins create
# and change them and see what they cost.
CAMPAIGN_MANAGER_ROLES = (Role.ADMIN, Role.MANAGER)


def can_see_campaigns(user) -> bool:
    return is_sales_user(user)


def require_campaigns(user) -> None:
    if not can_see_campaigns(user):
        raise PermissionDenied


def can_manage_campaigns(user) -> bool:
    """Create and change campaigns, see their budget, cost, cost per lead and ROI, send blasts."""
    return bool(is_tenant_user(user) and user.has_any_role(*CAMPAIGN_MANAGER_ROLES))


def require_campaign_manager(user) -> None:
    if not can_manage_campaigns(user):
        raise PermissionDenied


def get_marketing_campaign_for_user(user, pk: int) -> MarketingCampaign:
    """The marketing campaign if it is the user's tenant's and the user works in sales; else 404 (another tenant's
    id answers as a missing one) or 403."""
    if not is_tenant_user(user):
        raise Http404
    campaign = (
        MarketingCampaign.objects.filter(tenant_id=user.tenant_id, pk=pk).select_related("tenant", "owner").first()
    )
    if campaign is None:
        raise Http404
    require_campaigns(user)
    return campaign


def get_blast_for_user(user, pk: int) -> Blast:
    """A blast of the user's tenant, for campaign managers; else 404 or 403."""
    if not is_tenant_user(user):
        raise Http404
    blast = Blast.objects.filter(tenant_id=user.tenant_id, pk=pk).select_related("campaign", "tenant").first()
    if blast is None:
        raise Http404
    require_campaign_manager(user)
    return blast
