"""Demo API tokens: the admin's ERP sync token and a rep's read-only one, so Settings → API tokens has rows."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from crm.demo import DemoTenant

from .models import ApiToken
from .services.token import token_create


def seed_tenant(demo: DemoTenant) -> None:
    for key, name, scope, days in (("admin", "ERP 同步", "write", None), ("rep1", "BI 报表 (只读)", "read", 90)):
        user = demo.users.get(key)
        if user is None or ApiToken.objects.filter(tenant=demo.tenant, user=user, name=name).exists():
            continue
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token_create(acting_user=user, name=name, scope=scope, expires_at=expires_at)
