"""Who may do what, shared by every app: role checks, the users one may act for, safe redirects, the client's
address.

Role checks themselves are a method on the user: `user.has_any_role(Role.ADMIN, Role.MANAGER)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from ipware import get_client_ip

from crm.models import Role, Team, Tenant, User, UserQuerySet


def is_tenant_user(user: Any) -> bool:
    """An active, logged-in user of a tenant (operators and anonymous visitors are not)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.tenant_id)


def require_tenant_user(user: Any) -> None:
    if not is_tenant_user(user):
        raise PermissionDenied


# The roles that hold customers and leads: service agents work tickets and never take a customer.
SALES_ROLES = (Role.ADMIN, Role.MANAGER, Role.REP)


def is_sales_user(user: Any) -> bool:
    """A tenant user who may hold, claim, create and import customers and work leads."""
    return is_tenant_user(user) and user.has_any_role(*SALES_ROLES)


def require_sales_user(user: Any) -> None:
    """PermissionDenied unless `user` holds a sales role (the services' check, whatever the menu shows)."""
    if not is_sales_user(user):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with customers and leads."))


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


def sales_assignable_users(user: User) -> UserQuerySet:
    """The users `user` may hand a customer, a lead or an opportunity to: `assignable_users` who hold a sales role."""
    return assignable_users(user).with_any_role(*SALES_ROLES)


def _nearest_manager(user: User, teams: dict[int, Team]) -> User | None:
    if not user.team_id or user.team_id not in teams:
        return None
    ids = [int(x) for x in teams[user.team_id].path.strip("/").split("/") if x]
    for team_id in reversed(ids):
        team = teams.get(team_id)
        if team and team.manager_id and team.manager.is_active and team.manager_id != user.pk:
            return team.manager
    return None


def manager_of(user: User) -> User | None:
    """The manager of the nearest team at or above the user's team that has an active manager other than them
    (whom to ask or to warn about the user's work)."""
    if not user.team_id:
        return None
    ids = [int(x) for x in user.team.path.strip("/").split("/") if x]
    return _nearest_manager(user, {t.pk: t for t in Team.objects.filter(pk__in=ids).select_related("manager")})


def managers_lookup(tenant_id: int) -> tuple[dict[int, Team], Callable[[User], User | None]]:
    """For jobs that ask for many users' managers: the tenant's teams (with their managers, one query) and
    `manager_of` answered from them."""
    teams = {t.pk: t for t in Team.objects.filter(tenant_id=tenant_id).select_related("manager")}
    return teams, lambda user: _nearest_manager(user, teams)


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


def client_ip(request: HttpRequest) -> str:
    """The client's address, the one way the whole app reads it (django-axes, every rate limit). With
    `settings.TRUSTED_PROXIES` = N reverse proxies in front, each appending the address it saw to X-Forwarded-For,
    the client is the N-th entry from the right: entries further left are whatever the client wrote, never trusted.
    With no proxy, or a header shorter than the proxies promise, the socket's address."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        # django-ipware counts the proxies listed in the header: the last proxy is REMOTE_ADDR, not in it.
        ip, _routable = get_client_ip(
            request,
            proxy_order="left-most",  # the chain as written; proxy_count then counts from its right end
            proxy_count=proxies - 1,
            strict=False,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
        )
        if ip:
            return ip
    return remote
