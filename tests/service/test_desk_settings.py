"""Settings → Service desk: the forms save through their services, a refusal shows on the form with nothing saved,
removals and edits reach only this company's rows, and a changed SLA policy moves open tickets' deadlines when the
admin asks for it (keeping the business time they have used)."""

import pytest

from crm.workcalendar.selectors import add_business_minutes
from service import tasks
from service.models import CannedReply, SlaPolicy, TicketCategory
from service.services.escalation import deadlines_recompute
from service.services.ticket import ticket_set_status

from .helpers import at, make_customer, make_ticket, policy


@pytest.fixture
def desk(world_a):
    customer, contact = make_customer(world_a.rep1)
    return world_a, customer, contact


@pytest.fixture
def run_tasks(monkeypatch):
    ran = []
    monkeypatch.setattr(
        tasks.recompute_deadlines, "apply_async", lambda args, **options: ran.append(tasks.recompute_deadlines(*args))
    )
    return ran


@pytest.mark.django_db
def test_the_settings_forms_save_and_refuse_with_their_errors(world_a, client_for):
    admin = client_for(world_a.admin)
    assert admin.post("/settings/service/categories/", {"name": "账单"}).status_code == 302
    assert TicketCategory.objects.filter(tenant=world_a.tenant, name="账单").exists()
    clash = admin.post("/settings/service/categories/", {"name": "账单"})
    assert clash.status_code == 422 and "A category of that name exists." in clash.content.decode()
    assert admin.post("/settings/service/canned/", {"title": "你好", "body": "您好"}).status_code == 302
    short = admin.post(
        "/settings/service/sla/", {"priority": "high", "first_response_minutes": 60, "resolution_minutes": 30}
    )
    assert short.status_code == 422 and not SlaPolicy.objects.exists()
    assert "cannot be shorter" in short.content.decode()
    canned = CannedReply.objects.get(tenant=world_a.tenant)
    assert admin.post(f"/settings/service/canned/{canned.pk}/delete/").status_code == 302
    assert not CannedReply.objects.exists()
    assert client_for(world_a.agent).post("/settings/service/categories/", {"name": "x"}).status_code == 403


@pytest.mark.django_db
def test_another_companys_policy_is_404_to_edit_and_remove(world_a, world_b, client_for):
    theirs = policy(world_b.tenant, "high")
    admin = client_for(world_a.admin)
    assert admin.get(f"/settings/service/sla/{theirs.pk}/").status_code == 404
    assert admin.post(f"/settings/service/sla/{theirs.pk}/delete/").status_code == 404
    assert SlaPolicy.objects.filter(pk=theirs.pk).exists()
    ours = policy(world_a.tenant, "high", first=45, resolution=300)
    page = admin.get(f"/settings/service/sla/{ours.pk}/")
    assert page.status_code == 200 and 'value="45"' in page.content.decode()
    assert client_for(world_a.agent).get(f"/settings/service/sla/{ours.pk}/").status_code == 403


@pytest.mark.django_db
def test_a_changed_policy_moves_open_tickets_only_when_asked(
    desk, client_for, run_tasks, django_capture_on_commit_callbacks
):
    world, customer, contact = desk
    policy(world.tenant, "normal", first=60, resolution=240)
    # Friday 17:00: one business hour used by Monday 9:00 (Friday ends at 18:00).
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 6, 17, 0))
    pending = make_ticket(world, customer, contact, now=at(2026, 3, 6, 17, 0))
    ticket_set_status(acting_user=world.agent, ticket=pending, status="pending", now=at(2026, 3, 6, 17, 30))
    other = make_ticket(world, customer, contact, priority="high", now=at(2026, 3, 6, 17, 0))
    assert ticket.resolution_due_at == at(2026, 3, 9, 12, 0)
    admin = client_for(world.admin)
    data = {"priority": "normal", "first_response_minutes": 60, "resolution_minutes": 480}
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post("/settings/service/sla/", data).status_code == 302
    assert run_tasks == []
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == at(2026, 3, 9, 12, 0) and ticket.resolution_minutes == 240
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post("/settings/service/sla/", {**data, "apply_to_open": "on"}).status_code == 302
    assert run_tasks == [2]
    ticket.refresh_from_db()
    pending.refresh_from_db()
    other.refresh_from_db()
    assert ticket.resolution_minutes == 480 and pending.resolution_minutes == 480
    assert ticket.sla_spent_minutes >= 60 and ticket.resolution_due_at > at(2026, 3, 9, 12, 0)
    assert other.sla_policy_id is None and other.resolution_minutes is None


@pytest.mark.django_db
def test_reapplying_a_policy_keeps_the_business_time_used_and_the_pause(desk):
    world, customer, contact = desk
    found = policy(world.tenant, "normal", first=60, resolution=240)
    ticket = make_ticket(world, customer, contact, now=at(2026, 3, 6, 17, 0))
    paused = make_ticket(world, customer, contact, now=at(2026, 3, 6, 17, 0))
    ticket_set_status(acting_user=world.agent, ticket=paused, status="pending", now=at(2026, 3, 6, 17, 30))
    found.resolution_minutes = 480
    found.save()
    assert deadlines_recompute(tenant_id=world.tenant.pk, priority="normal", now=at(2026, 3, 9, 10, 0)) == 2
    ticket.refresh_from_db()
    paused.refresh_from_db()
    # Friday 17:00–18:00 and Monday 9:00–10:00 used: 360 of the 480 minutes are left from Monday 10:00.
    assert ticket.sla_spent_minutes == 120
    assert ticket.resolution_due_at == add_business_minutes(world.tenant, at(2026, 3, 9, 10, 0), 360)
    # The paused ticket keeps its 30 minutes and its pause: no deadline runs until the customer answers.
    assert (paused.sla_spent_minutes, paused.resolution_minutes, paused.due_at) == (30, 480, None)
