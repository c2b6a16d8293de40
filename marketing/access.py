"""Who may use customer care, and the one way to fetch a campaign for a user."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from crm.models import Role
from marketing.models import CareCampaign

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
