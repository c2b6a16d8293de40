from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from crm.access import is_tenant_user
from crm.models import Role, TenantQuerySet


class ApiTokenQuerySet(TenantQuerySet):
    def visible_to(self, user: Any) -> ApiTokenQuerySet:
        """A user's own tokens; an administrator's: every token of the tenant. No tenant user: none."""
        if not is_tenant_user(user):
            return self.none()
        tokens = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return tokens
        return tokens.filter(user=user)

    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
