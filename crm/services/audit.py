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


def audit_many(
    *, tenant: Tenant | None, actor: User | None, action: str, entries: list[tuple[Any, dict]]
) -> list[AuditEvent]:
    """One AuditEvent per (object, details), in one statement: what a job records for many rows at once."""
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                tenant=tenant,
                actor=actor if actor is not None and actor.is_authenticated else None,
                action=action,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:255],
                details=details or {},
            )
            for obj, details in entries
        ]
    )
