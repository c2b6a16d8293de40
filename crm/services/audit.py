"""The audit trail: one append-only AuditEvent per write that matters."""

from __future__ import annotations

from typing import Any

from crm.models import AuditEvent, Tenant, User


def audit(
    *, tenant: Tenant | None, actor: User | None, action: str, obj: Any = None, details: dict | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        details=details or {},
    )
