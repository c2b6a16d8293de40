"""Reads of the reports' own tables."""

from __future__ import annotations

from django.db.models import Q

from crm.access import is_tenant_user
from crm.models import Role, Team, TenantQuerySet


class FunnelFactQuerySet(TenantQuerySet):
    def visible_to(self, user) -> FunnelFactQuerySet:
        """The facts of the opportunities `user` sees, by the rule of `Opportunity.objects.visible_to` on the
        fact's owner: their own, those of the teams they manage (recursively), everything for admins."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        condition = Q(owner_id=user.pk)
        if user.has_any_role(Role.MANAGER):
            condition |= Q(owner__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.filter(condition)
