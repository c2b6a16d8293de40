"""Subscribing to a dashboard as a scheduled PDF, and ending a subscription."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from reports.access import require_reports
from reports.forms.filters import ReportFilterForm, scope_query
from reports.models import Dashboard, ReportSubscription
from reports.selectors.dashboard import DEFAULT_PERIODS


def clean_filters(user: User, dashboard: str, filters: str) -> str:
    """The filters as the dashboard would read them for `user`, or DomainError: a subscription never stores a team,
    rep or pipeline the user may not see."""
    form = ReportFilterForm(QueryDict(filters or ""), user=user, default_period=DEFAULT_PERIODS[dashboard])
    if form.is_bound and filters and not form.is_valid():
        raise DomainError(_("These filters are not valid any more; open the dashboard and subscribe again."))
    return scope_query(form.scope())


def subscription_create(
    *, acting_user: User, dashboard: str, filters: str, frequency: str, hour: int
) -> ReportSubscription:
    require_reports(acting_user)
    if dashboard not in Dashboard.values:
        raise DomainError(_("Unknown dashboard."), field="dashboard")
    with transaction.atomic():
        subscription = ReportSubscription(
            tenant_id=acting_user.tenant_id,
            created_by=acting_user,
            user=acting_user,
            dashboard=dashboard,
            filters=clean_filters(acting_user, dashboard, filters),
            frequency=frequency,
            hour=hour,
        )
        subscription.full_clean()
        subscription.save()
        audit(tenant=acting_user.tenant, actor=acting_user, action="reports.subscribe", obj=subscription)
    return subscription


def subscription_delete(*, acting_user: User, subscription: ReportSubscription) -> None:
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="reports.unsubscribe", obj=subscription)
        subscription.delete()
