"""The shared access machinery: role checks on the user, the users one may act for, and safe redirects."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from crm.access import assignable_users, require_tenant_admin, safe_redirect_url
from crm.models import Role

from ..factories import UserFactory


@pytest.mark.django_db
def test_has_any_role_is_true_for_any_of_the_roles_held(world_a):
    assert world_a.admin.has_any_role(Role.ADMIN)
    assert world_a.admin.has_any_role(Role.MANAGER, Role.ADMIN)
    assert not world_a.rep1.has_any_role(Role.ADMIN, Role.MANAGER)
    assert not world_a.rep1.has_any_role()
    both = UserFactory(tenant=world_a.tenant, roles=[Role.REP, Role.AGENT])
    assert both.has_any_role(Role.AGENT) and both.has_any_role(Role.REP) and not both.has_any_role(Role.ADMIN)


@pytest.mark.django_db
def test_assignable_users_by_role(world_a, world_b):
    inactive = UserFactory(tenant=world_a.tenant, team=world_a.team1, roles=[Role.REP], is_active=False)
    everyone_active = {world_a.admin, world_a.manager, world_a.rep1, world_a.rep2, world_a.agent}
    assert set(assignable_users(world_a.admin)) == everyone_active
    # A manager: the members of the teams under them (recursively) and themself; never the service team.
    assert set(assignable_users(world_a.manager)) == {world_a.manager, world_a.rep1, world_a.rep2}
    assert set(assignable_users(world_a.rep1)) == {world_a.rep1}
    assert inactive not in set(assignable_users(world_a.admin))
    # Never another tenant's users; an operator or a deactivated user may act for nobody.
    assert not set(assignable_users(world_b.admin)) & everyone_active
    operator = UserFactory(tenant=None, is_superuser=True, is_staff=True, roles=[])
    assert not assignable_users(operator).exists()
    world_a.admin.is_active = False
    assert not assignable_users(world_a.admin).exists()


@pytest.mark.django_db
def test_require_tenant_admin(world_a, world_b):
    require_tenant_admin(world_a.admin, world_a.tenant)
    with pytest.raises(PermissionDenied):
        require_tenant_admin(world_a.manager, world_a.tenant)
    with pytest.raises(PermissionDenied):
        require_tenant_admin(world_b.admin, world_a.tenant)
    with pytest.raises(PermissionDenied):
        require_tenant_admin(world_a.admin, None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/customers/?page=2", "/customers/?page=2"),
        ("http://testserver/pool/", "http://testserver/pool/"),
        ("https://evil.example/", "/fallback/"),
        ("//evil.example/path", "/fallback/"),
        ("/\\evil.example", "/fallback/"),
        ("javascript:alert(1)", "/fallback/"),
        ("", "/fallback/"),
        (None, "/fallback/"),
    ],
)
def test_safe_redirect_url_keeps_only_this_site(target, expected):
    request = RequestFactory().get("/")
    assert safe_redirect_url(request, target, "/fallback/") == expected


def test_safe_redirect_url_over_https_refuses_plain_http():
    request = RequestFactory().get("/", secure=True)
    assert safe_redirect_url(request, "http://testserver/pool/", "/fallback/") == "/fallback/"
    assert safe_redirect_url(request, "https://testserver/pool/", "/fallback/") == "https://testserver/pool/"
