"""Who may open the reports, set targets and receive scheduled reports."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from crm.access import is_sales_user, sales_assignable_users
from crm.models import Role, User
from reports.models import ReportDelivery, ReportFile, ReportSubscription


def require_reports(user) -> None:
    """Sales users open the reports: an admin sees the company, a manager their team tree, a rep their own figures."""
    if not is_sales_user(user):
        raise PermissionDenied(_("Reports are for sales reps, managers and administrators."))


def can_set_targets(user) -> bool:
    return is_sales_user(user) and user.has_any_role(Role.ADMIN, Role.MANAGER)


def require_targets(user) -> None:
    if not can_set_targets(user):
        raise PermissionDenied(_("Only managers and administrators set sales targets."))


def get_rep_for_user(user, pk: int) -> User:
    """A colleague whose figures `user` may see (themself included); 404 for anyone else, of this tenant or not."""
    require_reports(user)
    return get_object_or_404(sales_assignable_users(user).select_related("team"), pk=pk)


def get_subscription_for_user(user, pk: int) -> ReportSubscription:
    """A subscription its recipient, or whoever set it up for them, may end."""
    require_reports(user)
    return get_object_or_404(
        ReportSubscription.objects.filter(tenant_id=user.tenant_id).filter(Q(user=user) | Q(created_by=user)), pk=pk
    )


def get_delivery_for_user(user, pk: int) -> ReportDelivery:
    """A scheduled report's PDF: only its recipient opens it."""
    if not is_sales_user(user):
        raise Http404
    return get_object_or_404(
        ReportDelivery.objects.filter(tenant_id=user.tenant_id, subscription__user=user).select_related("subscription"),
        pk=pk,
    )


def get_report_file_for_user(user, pk: int) -> ReportFile:
    """A report file its requester asked for; 404 for anyone else's and for another company's."""
    return get_object_or_404(ReportFile.objects.for_tenant(user.tenant), pk=pk, created_by=user)
