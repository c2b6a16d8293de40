"""Tickets: creation with numbers per tenant, replies emailed to the contact, notes, customer replies that reopen,
visibility through one visible_to, read-only for reps, bulk actions scoped, audited; the pages."""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from crm.models import AuditEvent, Notification, OutboundMessage, RobotChannel
from crm.services.notification import message_deliver, robot_channel_save
from service.models import Status, Ticket, TicketMessage
from service.services.ticket import ticket_customer_message, ticket_reply, ticket_set_status

from .helpers import at, make_customer, make_ticket, policy


@pytest.fixture
def desk(world_a):
    customer, contact = make_customer(world_a.rep1)
    return world_a, customer, contact


@pytest.fixture
def deliver_now(monkeypatch):
    # The outbox sends its calls with apply_async (crm.services.outbox).
    monkeypatch.setattr(
        "crm.tasks.deliver_message.apply_async", lambda args, **options: message_deliver(message_id=args[1])
    )


@pytest.mark.django_db
def test_numbers_count_per_tenant(desk, world_b):
    world, customer, contact = desk
    first, second = make_ticket(world, customer, contact), make_ticket(world, customer, contact)
    other_customer, _c = make_customer(world_b.rep1, "远方贸易有限公司", "zhao@yuanfang.example", "13900139000")
    other = make_ticket(world_b, other_customer)
    assert (first.display_number, second.display_number, other.display_number) == ("T-000001", "T-000002", "T-000001")


@pytest.mark.django_db
def test_a_public_reply_is_emailed_to_the_contact_and_a_note_is_not(
    desk, django_capture_on_commit_callbacks, deliver_now
):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(acting_user=world.agent, ticket=ticket, body="内部：等待备件", public=False)
        ticket_reply(acting_user=world.agent, ticket=ticket, body="您好，已为您安排上门。", public=True)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [contact.email] and "[T-000001]" in mail.outbox[0].subject
    assert "上门" in mail.outbox[0].body and "备件" not in mail.outbox[0].body
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None and ticket.status == Status.OPEN
    reply = TicketMessage.objects.get(kind="reply")
    assert reply.message_id.startswith(f"<ticket-{ticket.pk}-") and ticket.reply_token in reply.message_id
    assert set(AuditEvent.objects.filter(object_id=str(ticket.pk)).values_list("action", flat=True)) >= {
        "ticket.create",
        "ticket.note",
        "ticket.reply",
    }


@pytest.mark.django_db
def test_an_empty_reply_is_refused_and_nothing_is_saved(desk, client_for):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    response = client_for(world.agent).post(f"/tickets/{ticket.pk}/reply/", {"kind": "reply", "body": "  "})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not TicketMessage.objects.exists() and not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_the_customers_reply_reopens_a_resolved_ticket_within_the_days_and_resumes_a_pending_one(desk):
    world, customer, contact = desk
    policy(world.tenant)
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 9, 9, 0))
    ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.PENDING, now=at(2026, 3, 9, 10, 0))
    ticket_customer_message(ticket=ticket, body="重启后还是不行", now=at(2026, 3, 10, 9, 0))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolution_due_at == at(2026, 3, 10, 12, 0)
    ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.RESOLVED, now=at(2026, 3, 10, 10, 0))
    ticket_customer_message(ticket=ticket, body="又坏了", now=at(2026, 3, 12, 9, 0))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.RESOLVED, now=at(2026, 3, 12, 10, 0))
    ticket_customer_message(ticket=ticket, body="谢谢", now=at(2026, 3, 30, 9, 0))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert TicketMessage.objects.filter(ticket=ticket, kind="customer").count() == 3


@pytest.mark.django_db
def test_visibility(desk):
    world, customer, contact = desk
    queued = make_ticket(world, customer, contact, by=world.admin)  # no rule: nobody's team
    mine = make_ticket(world, customer, contact, assignee=world.agent)
    other_customer, _c = make_customer(world.rep2, "远方贸易有限公司", "zhao@yuanfang.example", "13900139000")
    theirs = make_ticket(world, other_customer, assignee=world.agent)
    assert set(Ticket.objects.visible_to(world.agent)) == {queued, mine, theirs}
    assert set(Ticket.objects.visible_to(world.admin)) == {queued, mine, theirs}
    # The rep who owns a customer reads its tickets; the other rep's customer's tickets are not theirs.
    assert set(Ticket.objects.visible_to(world.rep1)) == {queued, mine}
    assert not Ticket.objects.workable_by(world.rep1).exists()
    # The sales manager manages rep1 and rep2: sees their customers' tickets, works none of the service team's.
    assert set(Ticket.objects.visible_to(world.manager)) == {queued, mine, theirs}


@pytest.mark.django_db
def test_a_rep_reads_but_cannot_reply(desk, client_for):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, assignee=world.agent)
    rep = client_for(world.rep1)
    page = rep.get(f"/tickets/{ticket.pk}/")
    assert page.status_code == 200 and "reply-form" not in page.content.decode()
    assert rep.post(f"/tickets/{ticket.pk}/reply/", {"kind": "reply", "body": "hi"}).status_code == 403
    assert client_for(world.rep2).get(f"/tickets/{ticket.pk}/").status_code == 404
    assert rep.get("/tickets/").status_code == 403


@pytest.mark.django_db
def test_another_tenants_ticket_is_404(desk, world_b, client_for):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    outsider = client_for(world_b.agent)
    for url in ("", "reply/", "status/", "edit/", "assign/"):
        method = outsider.get if not url else outsider.post
        assert method(f"/tickets/{ticket.pk}/{url}").status_code == 404, url
    outsider.post("/tickets/bulk/", {"selected": [ticket.pk], "action": "close"})
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


@pytest.mark.django_db
def test_the_rep_owning_the_customer_hears_of_urgent_tickets_once(desk):
    world, customer, contact = desk
    make_ticket(world, customer, contact, priority="urgent")
    make_ticket(world, customer, contact, priority="normal")
    notes = Notification.objects.filter(recipient=world.rep1)
    assert notes.count() == 1 and "Urgent ticket T-000001" in notes.get().title


@pytest.mark.django_db
def test_an_urgent_ticket_is_posted_to_the_group_robots_that_take_urgent_tickets(desk):
    world, customer, contact = desk
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        for name, events in (("客服群", ["urgent_ticket"]), ("销售群", ["lead_assigned"])):
            robot_channel_save(
                acting_user=world.admin, kind="wecom", name=name, url="http://127.0.0.1/r?key=k", events=events
            )
    make_ticket(world, customer, contact, priority="urgent")
    make_ticket(world, customer, contact, priority="normal")
    posts = OutboundMessage.objects.filter(channel=OutboundMessage.Channel.ROBOT)
    urgent_robot = RobotChannel.objects.get(name="客服群")
    assert [(m.to_address, "T-000001" in m.body) for m in posts] == [(f"robot:{urgent_robot.pk}", True)]


@pytest.mark.django_db
def test_create_through_the_page(desk, client_for):
    world, customer, contact = desk
    agent = client_for(world.agent)
    assert agent.get(f"/tickets/new/?customer={customer.pk}").status_code == 200
    response = agent.post(
        "/tickets/new/",
        {
            "customer": customer.pk,
            "contact": contact.pk,
            "subject": "发票抬头错误",
            "description": "需要重开发票",
            "channel": "wechat",
            "priority": "high",
            "tags": "发票，财务",
            "assignee": world.agent.pk,
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert (ticket.channel, ticket.priority, ticket.tags, ticket.assignee) == (
        "wechat",
        "high",
        ["发票", "财务"],
        world.agent,
    )
    bad = agent.post("/tickets/new/", {"customer": customer.pk, "subject": "", "channel": "fax", "priority": "normal"})
    assert bad.status_code == 422 and Ticket.objects.count() == 1


@pytest.mark.django_db
def test_bulk_assign_and_close(desk, client_for):
    world, customer, contact = desk
    tickets = [make_ticket(world, customer, contact, by=world.admin) for _ in range(3)]
    admin = client_for(world.admin)
    ids = [t.pk for t in tickets]
    admin.post("/tickets/bulk/", {"selected": ids[:2], "action": "assign", "assignee": world.agent.pk})
    assert Ticket.objects.filter(assignee=world.agent).count() == 2
    admin.post("/tickets/bulk/", {"selected": ids, "action": "close"})
    assert Ticket.objects.filter(status=Status.CLOSED).count() == 3


@pytest.mark.django_db
def test_the_list_searches_filters_and_keeps_its_queries_bounded(desk, client_for, django_assert_max_num_queries):
    world, customer, contact = desk
    policy(world.tenant)
    for i in range(60):
        make_ticket(world, customer, contact, subject=f"网络故障 {i}", assignee=world.agent)
    other, _c = make_customer(world.rep2, "远方贸易有限公司", "zhao@yuanfang.example", "13900139000")
    make_ticket(world, other, subject="屏幕闪烁", assignee=world.agent)
    agent = client_for(world.agent)
    with django_assert_max_num_queries(16):
        page = agent.get("/tickets/")
    assert page.status_code == 200 and page.content.decode().count('data-testid="ticket-row"') == 50
    assert "61 tickets" in page.content.decode()
    found = agent.get("/tickets/", {"q": "T-000061"}).content.decode()
    assert "屏幕闪烁" in found and "网络故障" not in found
    found = agent.get("/tickets/", {"q": "远方"}).content.decode()
    assert "屏幕闪烁" in found and "网络故障" not in found
    found = agent.get("/tickets/", {"q": "13900139000"}).content.decode()
    assert "屏幕闪烁" in found and "网络故障" not in found
    assert agent.get("/tickets/", {"view": "breaching", "sort": "bogus", "status": "x"}).status_code == 200


@pytest.mark.django_db
def test_the_customer_page_shows_its_tickets(desk, client_for):
    world, customer, contact = desk
    make_ticket(world, customer, contact, subject="保修咨询")
    page = client_for(world.rep1).get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="customer-tickets"' in page and "保修咨询" in page


@pytest.mark.django_db
def test_agents_and_admins_see_the_desk_in_the_navigation(desk, client_for):
    world, _customer, _contact = desk
    assert 'href="/tickets/"' in client_for(world.agent).get("/").content.decode()
    assert 'href="/tickets/"' not in client_for(world.rep1).get("/").content.decode()


@pytest.mark.django_db
def test_ticket_list_filters_fold_on_a_phone(world_a, client_for):
    body = client_for(world_a.agent).get(reverse("service:ticket_list")).content.decode()
    assert (
        'data-bs-target="#ticket-filters"' in body
        and 'id="ticket-filters" class="card card-body mb-3 py-2 collapse d-md-block"' in body
    )


@pytest.mark.django_db
def test_an_agents_home_starts_from_their_tickets(world_a, world_b, client_for, django_assert_max_num_queries):
    customer, contact = make_customer(world_a.rep1)
    mine = make_ticket(world_a, customer, contact, subject="我的工单一")
    waiting = make_ticket(world_a, customer, contact, subject="没人接的")
    Ticket.objects.filter(pk=mine.pk).update(assignee=world_a.agent)
    Ticket.objects.filter(pk=waiting.pk).update(assignee=None)
    other_customer, other_contact = make_customer(world_b.rep1, name="别家公司")
    make_ticket(world_b, other_customer, other_contact, subject="别家工单")

    c = client_for(world_a.agent)
    with django_assert_max_num_queries(14):
        response = c.get(reverse("home"))
    w = next(item["context"] for item in response.context["widgets"] if item["widget"].key == "my_tickets")
    assert w["counts"]["mine"] == 1 and w["counts"]["unassigned"] == 1
    assert [t.pk for t in w["tickets"]] == [mine.pk]
    body = response.content.decode()
    assert 'data-testid="my-tickets"' in body and "我的工单一" in body and "别家工单" not in body
    assert f"{reverse('service:ticket_list')}?view=unassigned" in body
    # Reps read their customers' tickets on the customer page; their home has no desk widget.
    assert 'data-testid="my-tickets"' not in client_for(world_a.rep1).get(reverse("home")).content.decode()
