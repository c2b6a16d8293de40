import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from crm.models import AuditEvent, Team, User
from crm.services.audit import audit

from ..factories import TeamFactory, TenantFactory, UserFactory


@pytest.mark.django_db
def test_email_is_unique_case_insensitively_across_tenants():
    UserFactory(email="li@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="LI@example.test", tenant=TenantFactory())


@pytest.mark.django_db
def test_only_superusers_may_live_outside_a_tenant():
    User.objects.create_superuser(email="ops@example.test", password="x", full_name="Ops")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="orphan@example.test", full_name="Orphan", tenant=None)


@pytest.mark.django_db
def test_login_lookup_is_case_insensitive():
    user = UserFactory(email="wang@example.test")
    assert User.objects.get_by_natural_key("WANG@Example.TEST") == user


@pytest.mark.django_db
def test_audit_events_are_append_only_in_the_database(world_a):
    event = audit(tenant=world_a.tenant, actor=world_a.admin, action="test.event", obj=world_a.rep1)
    with pytest.raises(InternalError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(InternalError, match="append-only"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("DELETE FROM crm_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.django_db
def test_managed_by_covers_the_subtree_and_nothing_else(world_a, world_b):
    managed = set(Team.objects.managed_by(world_a.manager))
    assert managed == {world_a.sales, world_a.team1, world_a.team2}
    assert world_a.service_team not in managed
    assert not Team.objects.managed_by(world_a.rep1).exists()
    # A manager of a sub-team sees only that sub-team, never the parent or a sibling.
    world_a.team1.manager = world_a.rep2
    world_a.team1.save()
    assert set(Team.objects.managed_by(world_a.rep2)) == {world_a.team1}


@pytest.mark.django_db
def test_team_names_are_unique_per_parent_including_roots():
    tenant = TenantFactory()
    TeamFactory(tenant=tenant, name="销售部")
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamFactory(tenant=tenant, name="销售部")
    TeamFactory(tenant=TenantFactory(), name="销售部")  # another tenant may use the name


@pytest.mark.django_db
def test_for_tenant_fails_closed():
    UserFactory()
    assert not User.objects.for_tenant(None).exists()
    assert not Team.objects.for_tenant(None).exists()
