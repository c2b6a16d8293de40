"""Demo API tokens (the admin's ERP sync token and a rep's read-only one, so Settings → API tokens has rows) and
custom fields on contacts, leads, opportunities and tickets, so their forms, pages and list filters show them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from crm.demo import DemoTenant

from .models import ApiToken, CustomField
from .services.custom_field import custom_field_save
from .services.token import token_create

# (record, key, label, type, choices)
DEMO_FIELDS = (
    ("contact", "contact_time", "方便联系时段", "choice", ["上午", "下午", "晚上"]),
    ("lead", "budget", "预算", "money", []),
    ("opportunity", "contract_no", "合同编号", "text", []),
    ("ticket", "device_sn", "设备序列号", "text", []),
)


def seed_tenant(demo: DemoTenant) -> None:
    for key, name, scope, days in (("admin", "ERP 同步", "write", None), ("rep1", "BI 报表 (只读)", "read", 90)):
        user = demo.users.get(key)
        if user is None or ApiToken.objects.filter(tenant=demo.tenant, user=user, name=name).exists():
            continue
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token_create(acting_user=user, name=name, scope=scope, expires_at=expires_at)

    admin = demo.users.get("admin")
    if admin is None:
        return
    for position, (kind, key, label, type_, choices) in enumerate(DEMO_FIELDS):
        if not CustomField.objects.filter(tenant=demo.tenant, kind=kind, key=key).exists():
            custom_field_save(
                acting_user=admin, kind=kind, key=key, label=label, type=type_, choices=choices, position=position
            )
