"""Only sales roles (admin, manager, rep) take customers: the services refuse a service agent whatever the menu
shows, and nobody hands a customer (or a lead that becomes one) to an agent."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.errors import DomainError
from crm.imports.models import ImportJob
from crm.imports.services import import_upload
from crm.models import Role
from customers.imports.customer import CustomerKind
from customers.models import Customer, PoolTeam
from customers.services.customer import customer_create
from customers.services.pool import customer_assign, customer_claim
from customers.services.tenant import default_pool
from customers.services.transfer import customer_transfer
from sales.models import Lead, LeadStatus
from sales.services.conversion import lead_convert
from sales.services.lead import lead_assign, lead_create
from tests.factories import UserFactory


@pytest.fixture
def pooled(world_a):
    pool = default_pool(world_a.tenant)
    # The pool names the agent's team too: only the role keeps the agent out.
    for team in (world_a.sales, world_a.service_team):
        PoolTeam.objects.get_or_create(tenant=world_a.tenant, pool=pool, team=team)
    return customer_create(
        acting_user=world_a.admin,
        data={"name": "公海客户"},
        contact={"name": "王五", "mobile": "13912345678"},
        owner=None,
        to_pool=pool,
    )


@pytest.mark.django_db
def test_an_agent_cannot_claim(world_a, client_for, pooled):
    with pytest.raises(PermissionDenied):
        customer_claim(rep=world_a.agent, customer_id=pooled.pk)
    client = client_for(world_a.agent)
    assert client.post(reverse("pool:claim", args=[pooled.pk])).status_code == 403
    assert client.get(reverse("pool:list")).status_code == 403
    assert client.get(reverse("pool:customer", args=[pooled.pk])).status_code == 404
    pooled.refresh_from_db()
    assert pooled.owner_id is None


@pytest.mark.django_db
def test_a_rep_who_is_also_an_agent_claims(world_a, pooled):
    both = UserFactory(tenant=world_a.tenant, team=world_a.team1, roles=[Role.AGENT, Role.REP])
    assert customer_claim(rep=both, customer_id=pooled.pk).owner_id == both.pk


@pytest.mark.django_db
def test_an_agent_cannot_create_customers(world_a, client_for):
    with pytest.raises(PermissionDenied):
        customer_create(acting_user=world_a.agent, data={"name": "客服建的"})
    client = client_for(world_a.agent)
    assert client.get(reverse("customers:create")).status_code == 403
    assert client.post(reverse("customers:create"), {"kind": "company", "name": "客服建的"}).status_code == 403
    assert not Customer.objects.filter(name="客服建的").exists()
    # The list an agent reads offers no button to that page; a rep's does.
    new_customer = f'href="{reverse("customers:create")}"'
    assert new_customer not in client.get(reverse("customers:list")).content.decode()
    assert new_customer in client_for(world_a.rep1).get(reverse("customers:list")).content.decode()


@pytest.mark.django_db
def test_nobody_gives_a_customer_to_an_agent(world_a, pooled):
    with pytest.raises(DomainError) as created:
        customer_create(acting_user=world_a.admin, data={"name": "给客服的"}, owner=world_a.agent)
    assert created.value.field == "owner"
    with pytest.raises(DomainError):
        customer_assign(acting_user=world_a.admin, customer_ids=[pooled.pk], rep=world_a.agent)
    owned = customer_create(acting_user=world_a.admin, data={"name": "转给客服"}, owner=world_a.rep1)
    with pytest.raises(DomainError):
        customer_transfer(acting_user=world_a.admin, customers=[owned], to_owner=world_a.agent, reason="试试")
    with pytest.raises(DomainError):
        import_upload(
            acting_user=world_a.admin,
            kind=CustomerKind,
            uploaded=SimpleUploadedFile("c.csv", "名称\n导入公司\n".encode()),
            destination=str(world_a.agent.pk),
        )
    assert not ImportJob.objects.exists()
    assert set(Customer.objects.values_list("owner_id", flat=True)) == {None, world_a.rep1.pk}


@pytest.mark.django_db
def test_a_manager_transfers_only_to_a_colleague_they_manage(world_a, world_b):
    owned = customer_create(acting_user=world_a.manager, data={"name": "本组客户"}, owner=world_a.rep1)
    outsider = UserFactory(tenant=world_a.tenant, team=world_a.service_team, roles=[Role.REP])
    with pytest.raises(DomainError):
        customer_transfer(acting_user=world_a.manager, customers=[owned], to_owner=outsider, reason="试试")
    owned.refresh_from_db()
    assert owned.owner_id == world_a.rep1.pk


@pytest.mark.django_db
def test_leads_go_to_sales_and_only_sales_convert_them(world_a):
    lead = lead_create(acting_user=world_a.manager, data={"name": "线索甲", "phone": "13700001111"}, owner=None)
    with pytest.raises(DomainError):
        lead_assign(acting_user=world_a.admin, leads=[lead], owner=world_a.agent)
    with pytest.raises(DomainError):
        lead_create(acting_user=world_a.admin, data={"name": "线索乙"}, owner=world_a.agent)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.QUALIFIED, owner=world_a.agent)
    lead.refresh_from_db()
    with pytest.raises(PermissionDenied):
        lead_convert(acting_user=world_a.agent, lead=lead)
    assert not Customer.objects.exists()
