"""SLA timers on the working calendar: nights, weekends, lunch and the Spring Festival do not count; pending the
customer pauses; a new priority or a changed calendar moves the deadlines but keeps the time used."""

import pytest

from crm.workcalendar.services import calendar_override_add
from service import tasks
from service.models import Status
from service.services.sla import timer_state
from service.services.ticket import ticket_reply, ticket_set_status, ticket_update

from .helpers import at, make_customer, make_ticket, policy


@pytest.fixture
def desk(world_a):
    customer, contact = make_customer(world_a.rep1)
    policy(world_a.tenant, "normal", first=60, resolution=240)
    policy(world_a.tenant, "high", first=30, resolution=120)
    return world_a, customer, contact


@pytest.mark.django_db
def test_a_ticket_raised_on_friday_evening_does_not_breach_over_the_weekend(desk):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 6, 18, 30))
    # Monday 09:00 + 60 min; the resolution skips the lunch break (09:00–12:00, then 13:30–14:30).
    assert ticket.first_response_due_at == at(2026, 3, 9, 10, 0)
    assert ticket.resolution_due_at == at(2026, 3, 9, 14, 30)
    assert ticket.due_at == at(2026, 3, 9, 10, 0)
    assert timer_state(ticket, at(2026, 3, 8, 23, 0)) == "on_track"
    assert timer_state(ticket, at(2026, 3, 9, 9, 50)) == "at_risk"
    assert timer_state(ticket, at(2026, 3, 9, 10, 0)) == "breached"


@pytest.mark.django_db
def test_the_spring_festival_and_its_make_up_saturday(desk):
    world, customer, contact = desk
    # Friday 13 February 2026, evening: Saturday the 14th is a make-up working day (调休).
    friday = make_ticket(world, customer, contact, now=at(2026, 2, 13, 18, 30))
    assert friday.resolution_due_at == at(2026, 2, 14, 14, 30)
    # Saturday evening: the holiday runs from the 15th to the 23rd; nothing counts until Tuesday the 24th.
    saturday = make_ticket(world, customer, contact, now=at(2026, 2, 14, 18, 30))
    assert saturday.first_response_due_at == at(2026, 2, 24, 10, 0)
    assert timer_state(saturday, at(2026, 2, 20, 12, 0)) == "on_track"


@pytest.mark.django_db
def test_pending_the_customer_pauses_the_clock(desk):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 9, 9, 0))
    ticket_reply(
        acting_user=world.agent, ticket=ticket, body="请重启路由器后再试。", public=True, now=at(2026, 3, 9, 10, 0)
    )
    ticket = ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.PENDING, now=at(2026, 3, 9, 11, 0))
    assert ticket.sla_spent_minutes == 120
    assert ticket.resolution_due_at is None and ticket.due_at is None and ticket.next_escalation_at is None
    assert timer_state(ticket, at(2026, 3, 12, 9, 0)) == "paused"
    # Three days later the customer answers: 120 minutes are left, from Thursday 09:00.
    ticket = ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.OPEN, now=at(2026, 3, 12, 9, 0))
    assert ticket.resolution_due_at == at(2026, 3, 12, 11, 0)


@pytest.mark.django_db
def test_a_new_priority_keeps_the_time_used_and_the_paused_time_excluded(desk):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 9, 9, 0))
    ticket = ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.PENDING, now=at(2026, 3, 9, 9, 30))
    ticket = ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.OPEN, now=at(2026, 3, 10, 9, 0))
    # 30 minutes used before the pause, 30 since: high priority's 120-minute target leaves 60 from 09:30.
    ticket = ticket_update(
        acting_user=world.agent,
        ticket=ticket,
        subject=ticket.subject,
        priority="high",
        category=None,
        tags=[],
        now=at(2026, 3, 10, 9, 30),
    )
    assert ticket.sla_spent_minutes == 60
    assert ticket.resolution_due_at == at(2026, 3, 10, 10, 30)
    # First response (30 min for high) is already breached: 60 minutes used.
    assert ticket.first_response_due_at == at(2026, 3, 10, 9, 0)


@pytest.mark.django_db
def test_a_company_holiday_moves_the_running_deadlines(desk, django_capture_on_commit_callbacks, monkeypatch):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 6, 17, 0))
    assert ticket.resolution_due_at == at(2026, 3, 9, 12, 0)
    ran = []
    monkeypatch.setattr(
        tasks.recompute_deadlines, "delay", lambda tenant_id: ran.append(tasks.recompute_deadlines(tenant_id))
    )
    with django_capture_on_commit_callbacks(execute=True):
        calendar_override_add(
            acting_user=world.admin,
            tenant=world.tenant,
            first_day=at(2026, 3, 9, 0, 0).date(),
            last_day=None,
            is_working=False,
            note="公司团建",
        )
    assert ran == [1]
    ticket.refresh_from_db()
    # Friday 17:00–18:00 was used; Monday is off, so the remaining 180 minutes run on Tuesday.
    assert ticket.resolution_due_at == at(2026, 3, 10, 12, 0)


@pytest.mark.django_db
def test_no_policy_means_no_timer(world_a):
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, priority="low", now=at(2026, 3, 9, 9, 0))
    assert ticket.sla_policy is None and ticket.due_at is None and timer_state(ticket, at(2026, 3, 20, 9, 0)) == ""
