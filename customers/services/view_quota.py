"""Writes of the daily view quotas per role and per team (administrators), audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Role, Team, User
from crm.services.audit import audit
from customers.models import ViewQuota


def _require_admin(user: User) -> None:
    if not user.has_any_role(Role.ADMIN):
        raise DomainError(_("Only administrators set view quotas."))


def view_quota_save(
    *, acting_user: User, quota: ViewQuota | None, role: str = "", team: Team | None = None, daily_limit: int
) -> ViewQuota:
    """Create or change a quota: for a role or for a team (and its sub-teams), never both; one per role or team."""
    _require_admin(acting_user)
    if bool(role) == bool(team):
        raise DomainError(_("Choose a role or a team."), field="team")
    if team is not None and team.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a role or a team."), field="team")
    if not daily_limit or daily_limit < 1:
        raise DomainError(_("Allow at least one pool customer a day."), field="daily_limit")
    quota = quota or ViewQuota(tenant_id=acting_user.tenant_id, created_by=acting_user)
    before = {"role": quota.role, "team": quota.team_id, "daily_limit": quota.daily_limit} if quota.pk else None
    quota.role, quota.team, quota.daily_limit = role or "", team, daily_limit
    try:
        with transaction.atomic():
            quota.save()
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="view_quota.save",
                obj=quota,
                details={"role": quota.role, "team": quota.team_id, "daily_limit": daily_limit, "before": before},
            )
    except IntegrityError as exc:
        raise DomainError(_("This role or team has a quota already; change that one."), field="team") from exc
    return quota


def view_quota_delete(*, acting_user: User, quota: ViewQuota) -> None:
    _require_admin(acting_user)
    with transaction.atomic():
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="view_quota.delete",
            obj=quota,
            details={"role": quota.role, "team": quota.team_id, "daily_limit": quota.daily_limit},
        )
        quota.delete()
