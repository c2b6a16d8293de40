"""Who may open, decide or withdraw an approval request: 404 for another tenant's or an invisible request."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from crm.models import User

from .models import ApprovalRequest


def get_approval_for_user(user: User, pk: int) -> ApprovalRequest:
    return get_object_or_404(
        ApprovalRequest.objects.visible_to(user).select_related("requested_by", "decided_by", "content_type"), pk=pk
    )


def can_decide(user: User, request: ApprovalRequest) -> bool:
    return ApprovalRequest.objects.waiting_for(user).filter(pk=request.pk).exists()


def can_withdraw(user: User, request: ApprovalRequest) -> bool:
    return request.is_pending and request.requested_by_id == user.pk
