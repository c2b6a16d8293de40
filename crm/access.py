"""Who may do what, shared by every app: role checks, the users one may act for, safe redirects.

Role checks themselves are a method on the user: `user.has_any_role(Role.ADMIN, Role.MANAGER)`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from crm.models import Role, Team, Tenant, User, UserQuerySet


def is_tenant_user(user: Any) -> bool:
    """An active, logged-in user of a tenant (operators and anonymous visitors are not)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.tenant_id)


def require_tenant_user(user: Any) -> None:
    if not is_tenant_user(user):
        raise PermissionDenied


def require_admin(user: Any) -> None:
    """PermissionDenied unless `user` is an administrator of their tenant."""
    if not (is_tenant_user(user) and user.has_any_role(Role.ADMIN)):
        raise PermissionDenied(_("Only administrators of this company may do that."))


def require_tenant_admin(user: User, tenant: Tenant | None) -> None:
    """PermissionDenied unless `user` is an administrator of `tenant`."""
    require_admin(user)
    if tenant is None or user.tenant_id != tenant.pk:
        raise PermissionDenied(_("Only administrators of this company may do that."))


def assignable_users(user: User) -> UserQuerySet:
    """The users `user` may act for and hand work to (owner of a customer or lead, assignee of a task, attendee,
    whose records to filter by): an admin every active colleague, a manager the active members of the teams they
    manage (recursively) and themself, anyone else only themself. Fails closed."""
    if not is_tenant_user(user):
        return User.objects.none()
    users = User.objects.for_tenant(user.tenant).filter(is_active=True)
    if user.has_any_role(Role.ADMIN):
        return users
    if user.has_any_role(Role.MANAGER):
        return users.filter(team__in=Team.objects.managed_by(user).values("pk")) | users.filter(pk=user.pk)
    return users.filter(pk=user.pk)


def manager_of(user: User) -> User | None:
    """The manager of the nearest team at or above the user's team that has an active manager other than them
    (whom to ask or to warn about the user's work)."""
    if not user.team_id:
        return None
    ids = [int(x) for x in user.team.path.strip("/").split("/") if x]
    teams = {t.pk: t for t in Team.objects.filter(pk__in=ids).select_related("manager")}
    for team_id in reversed(ids):
        team = teams.get(team_id)
        if team and team.manager_id and team.manager.is_active and team.manager_id != user.pk:
            return team.manager
    return None


def safe_redirect_url(request: HttpRequest, url: str | None, default: str) -> str:
    """`url` when it points into this site (a relative path or this host, over https when the request is), else
    `default`: a `next=` or `back=` parameter never sends a user to another site."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def get_user_for_admin(admin: User, pk: int) -> User:
    """A colleague's account for the settings pages. Looked up within the tenant first: another tenant's id is 404
    for everyone, then the role decides 403."""
    user = get_object_or_404(User.objects.for_tenant(admin.tenant).select_related("team"), pk=pk)
    require_admin(admin)
    return user


def get_team_for_admin(admin: User, pk: int) -> Team:
    team = get_object_or_404(Team.objects.for_tenant(admin.tenant), pk=pk)
    require_admin(admin)
    return team
