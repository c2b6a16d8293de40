"""Reads that combine users and teams for approvals: who may decide a step, and whom to tell."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.access import manager_of
from crm.models import Role, Team, User


def _ancestor_team_ids(user: User) -> list[int]:
    if not user.team_id:
        return []
    return [int(x) for x in user.team.path.strip("/").split("/") if x]


def step_deciders(*, requester: User, approver: str) -> QuerySet[User]:
    """The active users who may decide a step of `requester`'s request: administrators always; for a "manager"
    step also the managers of the requester's team and of every team above it. Never the requester."""
    users = User.objects.filter(tenant_id=requester.tenant_id, is_active=True).exclude(pk=requester.pk)
    admins = users.with_role(Role.ADMIN)
    if approver != "manager":
        return admins
    managers = Team.objects.filter(
        tenant_id=requester.tenant_id, pk__in=_ancestor_team_ids(requester), manager__isnull=False
    ).values("manager_id")
    return users.filter(pk__in=managers, roles__contains=[Role.MANAGER]) | admins


def step_recipients(*, requester: User, approver: str) -> list[User]:
    """Whom to notify when a step starts: for a "manager" step the nearest manager (else the administrators), for
    an "admin" step every administrator."""
    if approver == "manager":
        manager = manager_of(requester)
        if manager is not None and manager.has_any_role(Role.MANAGER):
            return [manager]
    return list(step_deciders(requester=requester, approver="admin").order_by("pk"))
