"""Subscribing to a dashboard as a scheduled PDF, and ending a subscription."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Team, User
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


def team_managers(team: Team):
    """The active managers of `team` and of every team under it."""
    return (
        User.objects.filter(
            tenant_id=team.tenant_id,
            is_active=True,
            managed_teams__path__startswith=team.path,
            managed_teams__tenant_id=team.tenant_id,
        )
        .distinct()
        .order_by("full_name", "pk")
    )


def subscription_create(
    *, acting_user: User, dashboard: str, filters: str, frequency: str, hour: int, team: Team | None = None
) -> ReportSubscription | list[ReportSubscription]:
    """Subscribe oneself, or (an administrator) every manager of `team` and its sub-teams: each recipient gets their
    own subscription, computed from their own view of the figures. All or nothing."""
    require_reports(acting_user)
    if dashboard not in Dashboard.values:
        raise DomainError(_("Unknown dashboard."), field="dashboard")
    if team is not None:
        require_admin(acting_user)
        if team.tenant_id != acting_user.tenant_id:
            raise DomainError(_("Choose a team of your company."), field="team")
        recipients = list(team_managers(team))
        if not recipients:
            raise DomainError(_("This team and the teams under it have no active manager."), field="team")
    else:
        recipients = [acting_user]
    created = []
    with transaction.atomic():
        for recipient in recipients:
            subscription = ReportSubscription(
                tenant_id=acting_user.tenant_id,
                created_by=acting_user,
                user=recipient,
                dashboard=dashboard,
                filters=clean_filters(recipient, dashboard, filters),
                frequency=frequency,
                hour=hour,
            )
            subscription.full_clean()
            subscription.save()
            audit(tenant=acting_user.tenant, actor=acting_user, action="reports.subscribe", obj=subscription)
            created.append(subscription)
    return created if team is not None else created[0]


def subscription_delete(*, acting_user: User, subscription: ReportSubscription) -> None:
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="reports.unsubscribe", obj=subscription)
        subscription.delete()
