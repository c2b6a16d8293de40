"""Who may reach which calendar rows: the same 404 for another tenant's override as for a missing one."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from crm.models import Role, User

from .models import CalendarOverride


def get_override_for_admin(user: User, pk: int) -> CalendarOverride:
    override = get_object_or_404(CalendarOverride.objects.for_tenant(user.tenant).select_related("tenant"), pk=pk)
    if not user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may change the working calendar."))
    return override
