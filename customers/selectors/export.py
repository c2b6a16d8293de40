"""Reads behind exports: the user's export jobs (of every kind)."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.models import Role, User
from customers.models import ExportJob


def exports_visible_to(user: User) -> QuerySet[ExportJob]:
    """A user's own exports; an admin sees every export of the tenant. Fails closed."""
    if not (user.is_authenticated and user.tenant_id):
        return ExportJob.objects.none()
    qs = ExportJob.objects.for_tenant(user.tenant).select_related("created_by")
    if user.has_any_role(Role.ADMIN):
        return qs
    return qs.filter(created_by=user)
