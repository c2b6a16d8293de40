import pytest
from django.core.exceptions import PermissionDenied

from crm.errors import DomainError
from crm.models import AuditEvent, OutboundMessage, Role, Team, Tenant, User
from crm.services.team import team_create, team_update
from crm.services.tenant import tenant_create
from crm.services.user import user_create, user_set_active, user_update


@pytest.mark.django_db
def test_tenant_create_makes_admin_default_team_and_audit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        tenant = tenant_create(
            name="新公司", slug="new-co", admin_email="Boss@New.test", admin_password="pw-123456-x", language="zh-hans"
        )
    admin = User.objects.get(tenant=tenant)
    assert admin.email == "boss@new.test"
    assert admin.roles == [Role.ADMIN]
    assert admin.check_password("pw-123456-x")
    team = Team.objects.get(tenant=tenant)
    assert team.path == f"/{team.pk}/"
    assert AuditEvent.objects.filter(tenant=tenant, action="tenant.create").count() == 1
    with pytest.raises(DomainError):
        tenant_create(name="x", slug="new-co", admin_email="other@new.test", admin_password="pw-123456-x")
    with pytest.raises(DomainError):
        tenant_create(name="x", slug="other-co", admin_email="BOSS@new.test", admin_password="pw-123456-x")
    assert Tenant.objects.filter(slug="other-co").count() == 0


@pytest.mark.django_db
def test_user_create_requires_admin_and_same_tenant_team(world_a, world_b, django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        user_create(
            acting_user=world_a.manager, tenant=world_a.tenant, email="x@a.test", full_name="X", roles=[Role.REP]
        )
    with pytest.raises(PermissionDenied):
        # An admin of B cannot create users in A.
        user_create(acting_user=world_b.admin, tenant=world_a.tenant, email="x@a.test", full_name="X", roles=[Role.REP])
    with pytest.raises(DomainError):
        user_create(
            acting_user=world_a.admin,
            tenant=world_a.tenant,
            email="x@a.test",
            full_name="X",
            roles=[Role.REP],
            team=world_b.team1,
        )
    assert not User.objects.filter(email="x@a.test").exists()
    with django_capture_on_commit_callbacks() as callbacks:
        user = user_create(
            acting_user=world_a.admin,
            tenant=world_a.tenant,
            email="New@A.test",
            full_name="新人",
            roles=[Role.REP],
            team=world_a.team1,
        )
    assert user.email == "new@a.test" and not user.has_usable_password()
    invite = OutboundMessage.objects.get(tenant=world_a.tenant, key=f"invite:{user.pk}")
    assert "/password/reset/" in invite.body
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_company_keeps_at_least_one_active_admin(world_a):
    with pytest.raises(DomainError):
        user_update(acting_user=world_a.admin, user=world_a.admin, full_name="A", roles=[Role.REP], team=None)
    with pytest.raises(DomainError):
        user_set_active(acting_user=world_a.admin, user=world_a.admin, active=False)
    world_a.admin.refresh_from_db()
    assert world_a.admin.is_active and Role.ADMIN in world_a.admin.roles


@pytest.mark.django_db
def test_deactivate_never_deletes_and_is_audited(world_a):
    user_set_active(acting_user=world_a.admin, user=world_a.rep1, active=False)
    rep = User.objects.get(pk=world_a.rep1.pk)
    assert rep.is_active is False
    assert AuditEvent.objects.filter(action="user.deactivate", object_id=str(rep.pk)).exists()
    user_set_active(acting_user=world_a.admin, user=rep, active=True)
    assert User.objects.get(pk=rep.pk).is_active


@pytest.mark.django_db
def test_moving_a_team_moves_its_subtree_and_refuses_cycles(world_a):
    sub = team_create(acting_user=world_a.admin, tenant=world_a.tenant, name="子组", parent=world_a.team1)
    assert sub.path == f"{world_a.team1.path}{sub.pk}/"
    team_update(acting_user=world_a.admin, team=world_a.team1, name="一组", parent=world_a.service_team, manager=None)
    sub.refresh_from_db()
    world_a.team1.refresh_from_db()
    assert world_a.team1.path == f"{world_a.service_team.path}{world_a.team1.pk}/"
    assert sub.path == f"{world_a.team1.path}{sub.pk}/"
    with pytest.raises(DomainError):
        team_update(acting_user=world_a.admin, team=world_a.team1, name="一组", parent=sub, manager=None)


@pytest.mark.django_db
def test_team_refuses_another_tenants_parent_or_manager(world_a, world_b):
    with pytest.raises(DomainError):
        team_create(acting_user=world_a.admin, tenant=world_a.tenant, name="X", parent=world_b.sales)
    with pytest.raises(DomainError):
        team_create(acting_user=world_a.admin, tenant=world_a.tenant, name="X", manager=world_b.manager)
    assert not Team.objects.filter(name="X").exists()
