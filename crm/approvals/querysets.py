"""Reads of approval requests: what a user may see, and what waits for their decision. Both fail closed."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from crm.models import Role, Team, TenantQuerySet


def _is_tenant_user(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.tenant_id)


class ApprovalRequestQuerySet(TenantQuerySet):
    def visible_to(self, user) -> ApprovalRequestQuerySet:
        """Requests `user` asked for, decided a step of, or whose requester is in a team they manage (recursively);
        all of the tenant's for an admin. One query."""
        if not _is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        step = apps.get_model("approvals", "ApprovalStep")
        condition = Q(requested_by_id=user.pk) | Q(
            Exists(step.objects.filter(request=OuterRef("pk"), tenant_id=user.tenant_id, decided_by_id=user.pk))
        )
        if user.has_any_role(Role.MANAGER):
            condition |= Q(requested_by__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.filter(condition)

    def waiting_for(self, user) -> ApprovalRequestQuerySet:
        """Pending requests whose current step `user` may decide: an administrator any step, a manager the
        "manager" steps of requests by people in the teams they manage. Never one's own request."""
        if not _is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, status="pending").exclude(requested_by_id=user.pk)
        if user.has_any_role(Role.ADMIN):
            return qs
        if not user.has_any_role(Role.MANAGER):
            return self.none()
        step = apps.get_model("approvals", "ApprovalStep")
        manager_step = step.objects.filter(
            request=OuterRef("pk"), tenant_id=user.tenant_id, status="pending", approver="manager"
        )
        return qs.filter(Exists(manager_step), requested_by__team__in=Team.objects.managed_by(user).values("pk"))

    def asked_by(self, user) -> ApprovalRequestQuerySet:
        if not _is_tenant_user(user):
            return self.none()
        return self.filter(tenant_id=user.tenant_id, requested_by_id=user.pk)
