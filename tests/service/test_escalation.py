"""The escalation job: at risk → the assignee is told; breached → the team's manager is told and the priority goes
up one step; each step once per ticket and target, on a rerun, with two workers at once, and through a real worker."""

import threading

import pytest
from celery.schedules import crontab
from django.db import connection

from crm.celery import app
from crm.models import AuditEvent, Notification, OutboundMessage
from service import tasks
from service.models import Escalation, Ticket
from service.services.escalation import escalations_run, tenants_with_due_escalations
from service.services.ticket import ticket_reply

from ..conftest import build_world, wait_for, worker_settled
from .helpers import at, make_customer, make_ticket, policy


@pytest.fixture
def desk(world_a):
    world = world_a
    world.service_team.manager = world.manager
    world.service_team.save(update_fields=["manager"])
    customer, contact = make_customer(world.rep1)
    policy(world.tenant, "normal", first=60, resolution=240)
    policy(world.tenant, "high", first=30, resolution=120)
    return world, customer, contact


@pytest.mark.django_db
def test_at_risk_then_breached_each_once(desk):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact, assignee=world.agent, now=at(2026, 3, 9, 9, 0))
    assert ticket.next_escalation_at == at(2026, 3, 9, 9, 48)
    assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 9, 40)) == 0
    # 09:50: first response at risk (48 of 60 minutes used) → the assignee.
    assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 9, 50)) == 1
    assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 9, 55)) == 0
    risk = Notification.objects.get(recipient=world.agent, key__startswith="ticket-escalation:")
    assert "T-000001 is at risk: first response due 2026-03-09 10:00" == risk.title
    # 10:05: breached → the team's manager, and the priority goes to high (its targets: 30 / 120 minutes).
    assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 10, 5)) >= 1
    ticket.refresh_from_db()
    assert ticket.priority == "high"
    breach = Notification.objects.get(recipient=world.manager, key__startswith="ticket-escalation:")
    assert breach.title == "T-000001 breached its first response target"
    # Resolution: high's 120 minutes, 65 used → at risk since 10:36 (96 min), breached at 11:00.
    ticket_reply(acting_user=world.agent, ticket=ticket, body="正在处理", public=True, now=at(2026, 3, 9, 10, 10))
    escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 11, 1))
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    steps = set(Escalation.objects.filter(ticket=ticket).values_list("target", "step"))
    assert steps == {
        ("first_response", "at_risk"),
        ("first_response", "breached"),
        ("resolution", "at_risk"),
        ("resolution", "breached"),
    }
    before = Notification.objects.count()
    for _ in range(3):
        assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 17, 0)) == 0
    assert Notification.objects.count() == before and ticket.next_escalation_at is None


@pytest.mark.django_db
def test_dispatcher_fans_out_one_task_per_tenant(desk, world_b, monkeypatch, django_capture_on_commit_callbacks):
    world, customer, contact = desk
    make_ticket(world, customer, contact, now=at(2026, 3, 9, 9, 0))
    assert tenants_with_due_escalations(at(2026, 3, 9, 9, 0)) == []
    assert tenants_with_due_escalations(at(2026, 3, 9, 10, 0)) == [world.tenant.pk]
    sent = []
    monkeypatch.setattr(tasks.escalate_tenant_tickets, "apply_async", lambda args, **options: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after commit
        assert tasks.escalate_tickets() == 1
    assert sent == [world.tenant.pk]


def test_beat_runs_the_job_every_five_minutes():
    entry = app.conf.beat_schedule["service-escalate-tickets"]
    assert entry["task"] == "service.tasks.escalate_tickets" and entry["schedule"] == crontab(minute="*/5")
    assert "service.tasks.escalate_tenant_tickets" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_take_each_step_once():
    world = build_world("E")
    world.service_team.manager = world.manager
    world.service_team.save(update_fields=["manager"])
    customer, contact = make_customer(world.rep1)
    policy(world.tenant, "normal", first=60, resolution=240)
    policy(world.tenant, "high", first=30, resolution=120)
    rounds, workers = 5, 4
    for round_ in range(rounds):
        for i in range(3):
            make_ticket(
                world, customer, contact, subject=f"第{round_}轮{i}", assignee=world.agent, now=at(2026, 3, 9, 9, 0)
            )
        barrier = threading.Barrier(workers)
        errors = []

        def run():
            try:
                barrier.wait()
                escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 9, 50))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # Skipped locks leave nothing behind: one more run finds nothing due.
        escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 9, 50))
    total = rounds * 3
    assert Escalation.objects.count() == total
    assert Notification.objects.filter(key__startswith="ticket-escalation:").count() == total


@pytest.mark.django_db(transaction=True)
def test_escalation_through_a_real_worker(celery_worker):
    world = build_world("EW")
    customer, contact = make_customer(world.rep1)
    policy(world.tenant, "normal", first=1, resolution=2)
    ticket = make_ticket(world, customer, contact, assignee=world.agent, now=at(2026, 3, 9, 9, 0))
    tasks.escalate_tickets.delay()
    assert wait_for(lambda: Ticket.objects.get(pk=ticket.pk).priority == "urgent"), "not escalated"
    for _ in range(2):
        tasks.escalate_tickets.delay()
    assert worker_settled()
    assert Escalation.objects.filter(ticket=ticket).count() == 4
    assert Notification.objects.filter(key__startswith="ticket-escalation:", recipient=world.agent).count() == 2


@pytest.mark.django_db
def test_the_job_is_set_based_a_few_queries_whatever_the_number_of_tickets(
    desk, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    world, customer, contact = desk
    for i in range(40):
        make_ticket(world, customer, contact, subject=f"故障 {i}", assignee=world.agent, now=at(2026, 3, 9, 9, 0))
    # 10:05: every ticket's first response is both at risk and breached: 80 steps, 80 notifications, 40 raises.
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(20):
        assert escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 10, 5)) == 80
    assert Escalation.objects.count() == 80
    assert Notification.objects.filter(recipient=world.agent, key__startswith="ticket-escalation:").count() == 40
    assert Notification.objects.filter(recipient=world.manager, key__startswith="ticket-escalation:").count() == 40
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"high"}
    assert AuditEvent.objects.filter(action="ticket.escalate_priority").count() == 40
    assert OutboundMessage.objects.filter(key__startswith="notification:").count() == 80
    # The raised tickets run on high's targets (30 / 120 minutes) with the 65 minutes used kept.
    ticket = Ticket.objects.order_by("pk").first()
    assert (ticket.resolution_minutes, ticket.sla_spent_minutes) == (120, 65)
    with django_assert_max_num_queries(20):
        escalations_run(tenant_id=world.tenant.pk, now=at(2026, 3, 9, 10, 6))
    assert Escalation.objects.count() == 80
