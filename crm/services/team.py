"""Writes of teams: the tree of teams, stored with a materialized path."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Team, Tenant, User
from crm.services.audit import audit


def check_team(tenant: Tenant, team: Team | None) -> None:
    if team is not None and team.tenant_id != tenant.pk:
        raise DomainError(_("Choose a team of your company."), field="team")


def _check_manager(tenant: Tenant, manager: User | None) -> None:
    if manager is not None and (manager.tenant_id != tenant.pk or not manager.is_active):
        raise DomainError(_("Choose an active user of your company as manager."), field="manager")


def team_create(
    *, acting_user: User, tenant: Tenant, name: str, parent: Team | None = None, manager: User | None = None
) -> Team:
    require_tenant_admin(acting_user, tenant)
    check_team(tenant, parent)
    _check_manager(tenant, manager)
    try:
        with transaction.atomic():
            team = Team.objects.create(tenant=tenant, name=name, parent=parent, manager=manager, created_by=acting_user)
            team.path = f"{parent.path if parent else '/'}{team.pk}/"
            team.save(update_fields=["path"])
            audit(
                tenant=tenant,
                actor=acting_user,
                action="team.create",
                obj=team,
                details={"parent": parent.pk if parent else None},
            )
    except IntegrityError as exc:
        raise DomainError(_("A team with this name already exists here."), field="name") from exc
    return team


def team_update(*, acting_user: User, team: Team, name: str, parent: Team | None, manager: User | None) -> Team:
    tenant = team.tenant
    require_tenant_admin(acting_user, tenant)
    check_team(tenant, parent)
    _check_manager(tenant, manager)
    try:
        with transaction.atomic():
            team = Team.objects.select_for_update().get(pk=team.pk)
            if parent is not None and parent.path.startswith(team.path):
                raise DomainError(_("A team cannot sit under itself or one of its sub-teams."), field="parent")
            old_path = team.path
            changes = {}
            if team.name != name:
                changes["name"] = [team.name, name]
            if team.parent_id != (parent.pk if parent else None):
                changes["parent"] = [team.parent_id, parent.pk if parent else None]
            if team.manager_id != (manager.pk if manager else None):
                changes["manager"] = [team.manager_id, manager.pk if manager else None]
            team.name, team.parent, team.manager = name, parent, manager
            team.path = f"{parent.path if parent else '/'}{team.pk}/"
            team.save()
            if team.path != old_path:
                # Move the whole subtree in one statement: replace the old prefix with the new one.
                Team.objects.for_tenant(tenant).filter(path__startswith=old_path).exclude(pk=team.pk).update(
                    path=Concat(Value(team.path), Substr("path", len(old_path) + 1))
                )
            if changes:
                audit(tenant=tenant, actor=acting_user, action="team.update", obj=team, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("A team with this name already exists here."), field="name") from exc
    return team
