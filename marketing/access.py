"""Who may use customer care, and the one way to fetch a campaign for a user."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from crm.models import Role
from marketing.models import CareCampaign, Segment

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
