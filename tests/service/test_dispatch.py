"""Dispatch: ordered rules by category, priority, channel, level or keyword → a team, then round-robin or the least
loaded agent on duty under the cap; unmatched tickets to the default team's queue; the dry run writes nothing."""

import pytest

from crm.models import AuditEvent, Role
from service.models import DispatchRule, ServiceSettings, Ticket, TicketCategory
from service.services.dispatch import dispatch_dry_run, service_settings
from service.services.presence import presence_set
from tests.factories import TeamFactory, UserFactory

from .helpers import make_customer, make_ticket


@pytest.fixture
def desk(world_a):
    world = world_a
    agent2 = UserFactory(
        tenant=world.tenant, team=world.service_team, email="agent2@a.test", full_name="王芳", roles=[Role.AGENT]
    )
    customer, contact = make_customer(world.rep1)
    return world, agent2, customer, contact


def rule(world, name, team, order=10, **kw):
    return DispatchRule.objects.create(tenant=world.tenant, name=name, order=order, team=team, **kw)


@pytest.mark.django_db
def test_round_robin_takes_turns_among_agents_on_duty(desk):
    world, agent2, customer, contact = desk
    rule(world, "全部", world.service_team)
    got = [make_ticket(world, customer, contact, by=world.admin).assignee for _ in range(4)]
    assert got == [world.agent, agent2, world.agent, agent2]
    presence_set(acting_user=agent2, away=True)
    got = [make_ticket(world, customer, contact, by=world.admin).assignee for _ in range(2)]
    assert got == [world.agent, world.agent]


@pytest.mark.django_db
def test_least_loaded_and_the_cap(desk):
    world, agent2, customer, contact = desk
    rule(world, "最少", world.service_team, method=DispatchRule.Method.LEAST_LOADED)
    ServiceSettings.objects.update_or_create(tenant=world.tenant, defaults={"max_open_per_agent": 2})
    got = [make_ticket(world, customer, contact, by=world.admin).assignee for _ in range(5)]
    assert got[:4].count(world.agent) == 2 and got[:4].count(agent2) == 2
    # Both at the cap: the fifth waits in the team's queue.
    fifth = Ticket.objects.get(pk=Ticket.objects.order_by("-pk").values_list("pk", flat=True)[0])
    assert got[4] is None and fifth.team == world.service_team and fifth.status == "new"


@pytest.mark.django_db
def test_conditions_pick_the_first_matching_rule_and_the_rest_go_to_the_default_queue(desk):
    world, agent2, customer, contact = desk
    vip = TeamFactory(tenant=world.tenant, name="VIP 专线")
    vip_agent = UserFactory(tenant=world.tenant, team=vip, email="vip@a.test", roles=[Role.AGENT])
    invoices = TicketCategory.objects.create(tenant=world.tenant, name="发票")
    rule(world, "紧急电话", vip, order=1, priorities=["urgent"], channels=["phone"])
    rule(world, "发票", world.service_team, order=2, category=invoices)
    rule(world, "退款关键词", world.service_team, order=3, keywords=["退款"], method=DispatchRule.Method.QUEUE)
    service_settings(world.tenant.pk)
    ServiceSettings.objects.filter(tenant=world.tenant).update(default_team=world.sales)

    urgent = make_ticket(world, customer, contact, by=world.admin, priority="urgent", channel="phone")
    assert (urgent.team, urgent.assignee, urgent.dispatch_rule.name) == (vip, vip_agent, "紧急电话")
    urgent_mail = make_ticket(world, customer, contact, by=world.admin, priority="urgent", channel="email")
    assert urgent_mail.team != vip
    invoice = make_ticket(world, customer, contact, by=world.admin, category=invoices)
    assert invoice.team == world.service_team and invoice.assignee is not None
    refund = make_ticket(world, customer, contact, by=world.admin, subject="申请退款")
    assert (refund.team, refund.assignee) == (world.service_team, None)
    other = make_ticket(world, customer, contact, by=world.admin, subject="其他问题")
    assert (other.team, other.assignee, other.dispatch_rule) == (world.sales, None, None)


@pytest.mark.django_db
def test_the_dry_run_shows_where_unassigned_tickets_would_go_and_writes_nothing(desk):
    world, agent2, customer, contact = desk
    waiting = [make_ticket(world, customer, contact, by=world.admin, subject=f"待分派{i}") for i in range(3)]
    assert all(t.assignee is None for t in waiting)
    rule(world, "全部", world.service_team)
    rows = dispatch_dry_run(tenant=world.tenant)
    assert [d.agent for _t, d in rows] == [world.agent, agent2, world.agent]
    assert Ticket.objects.filter(assignee__isnull=False).count() == 0
    assert DispatchRule.objects.get(name="全部").last_agent is None


@pytest.mark.django_db
def test_the_dry_run_page_for_admins_only(desk, client_for):
    world, agent2, customer, contact = desk
    make_ticket(world, customer, contact, by=world.admin, subject="待分派")
    rule(world, "全部", world.service_team)
    page = client_for(world.admin).get("/settings/service/rules/dry-run/")
    assert (
        page.status_code == 200 and "待分派" in page.content.decode() and world.agent.full_name in page.content.decode()
    )
    assert client_for(world.agent).get("/settings/service/rules/dry-run/").status_code == 403


def dry_run_plan(client) -> str:
    page = client.get("/settings/service/rules/dry-run/")
    assert page.status_code == 200 and 'data-testid="dry-run-apply"' in page.content.decode()
    return page.context["plan"]


@pytest.mark.django_db
def test_apply_gives_exactly_what_the_dry_run_showed(desk, client_for):
    world, agent2, customer, contact = desk
    waiting = [make_ticket(world, customer, contact, by=world.admin, subject=f"待分派{i}") for i in range(3)]
    rule(world, "全部", world.service_team)
    shown = [d.agent for _t, d in dispatch_dry_run(tenant=world.tenant)]
    admin = client_for(world.admin)
    response = admin.post("/settings/service/rules/dry-run/apply/", {"plan": dry_run_plan(admin)})
    assert response.status_code == 302
    assert [Ticket.objects.get(pk=t.pk).assignee for t in waiting] == shown == [world.agent, agent2, world.agent]
    assert {Ticket.objects.get(pk=t.pk).status for t in waiting} == {"open"}
    assert DispatchRule.objects.get(name="全部").last_agent == world.agent
    assert AuditEvent.objects.filter(action="ticket.dispatch").count() == 3
    # Nothing waits any more: the page offers nothing to apply.
    assert 'data-testid="dry-run-apply"' not in admin.get("/settings/service/rules/dry-run/").content.decode()


@pytest.mark.django_db
def test_apply_refuses_when_things_changed_since_the_dry_run(desk, world_b, client_for):
    world, agent2, customer, contact = desk
    for i in range(2):
        make_ticket(world, customer, contact, by=world.admin, subject=f"待分派{i}")
    rule(world, "全部", world.service_team)
    admin = client_for(world.admin)
    plan = dry_run_plan(admin)
    presence_set(acting_user=agent2, away=True)
    response = admin.post("/settings/service/rules/dry-run/apply/", {"plan": plan}, follow=True)
    assert "changed since the dry run" in response.content.decode()
    assert not Ticket.objects.filter(assignee__isnull=False).exists()
    # Another ticket waiting (one put back in the queue) changes the plan too; a forged or another company's plan
    # is refused alike.
    plan = dry_run_plan(admin)
    back = make_ticket(world, customer, contact, by=world.admin, subject="退回的")
    Ticket.objects.filter(pk=back.pk).update(assignee=None)
    assert admin.post("/settings/service/rules/dry-run/apply/", {"plan": plan}).status_code == 302
    other_customer, _c = make_customer(world_b.rep1, "远方贸易有限公司", "zhao@yuanfang.example", "13900139000")
    theirs = make_ticket(world_b, other_customer, by=world_b.admin)
    for forged in (f"{theirs.pk}:{world.service_team.pk}:{world.agent.pk}:", "1:x:2:3", plan):
        assert admin.post("/settings/service/rules/dry-run/apply/", {"plan": forged}).status_code == 302
    assert not Ticket.objects.filter(subject__startswith="待分派", assignee__isnull=False).exists()
    assert Ticket.objects.get(pk=theirs.pk).assignee is None
    assert client_for(world.agent).post("/settings/service/rules/dry-run/apply/", {"plan": plan}).status_code == 403
