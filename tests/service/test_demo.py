"""The service desk's demo data: tickets in every state with running timers for agent@demo.local; idempotent."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import OutboundAttachment, Team, Tenant, User
from service.demo import TICKETS
from service.demo_survey import ANSWERED, NPS_SCORES
from service.models import NpsResponse, SatisfactionSurvey, Status, Ticket, TicketAttachment, TicketMessage
from service.services.sla import timer_state


@pytest.mark.django_db
def test_seed_demo_gives_the_agent_tickets_in_every_state(capsys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo")
    call_command("seed_demo")
    capsys.readouterr()
    demo = Tenant.objects.get(slug="demo")
    tickets = list(Ticket.objects.filter(tenant=demo))
    # The desk's tickets, and the resolved ones whose customers answered the satisfaction survey.
    assert len(tickets) == len(TICKETS) + len(ANSWERED)
    answered = SatisfactionSurvey.objects.filter(tenant=demo, answered_at__isnull=False)
    assert answered.count() == len(ANSWERED) and answered.filter(rating__lte=2).exists()
    assert 0 < NpsResponse.objects.filter(tenant=demo, score__isnull=False).count() <= len(NPS_SCORES)
    assert {t.status for t in tickets} == set(Status.values)
    now = timezone.now()
    assert {"on_track", "at_risk", "breached", "paused"} <= {timer_state(t, now) for t in tickets}
    agent = User.objects.get(email="agent@demo.local")
    assert Ticket.objects.visible_to(agent).filter(assignee=agent).count() >= 5
    assert TicketMessage.objects.filter(tenant=demo, kind="note").exists()
    assert TicketAttachment.objects.filter(tenant=demo, message__kind="note").count() == 2
    # A public reply's file went out with its email to the customer.
    sent = OutboundAttachment.objects.filter(tenant=demo, message__key__startswith="ticket-reply:")
    assert list(sent.values_list("name", flat=True)) == ["导出设置说明.txt"]
    assert not Ticket.objects.filter(tenant=Tenant.objects.get(slug="acme")).exists()
    # 客服部 has a manager, who sees the team's tickets and hears of their breaches.
    desk = Team.objects.get(tenant=demo, name="客服部")
    assert desk.manager.email == "servicemanager@demo.local" and desk.manager.has_any_role("manager")
    assert Ticket.objects.visible_to(desk.manager).count() == Ticket.objects.filter(tenant=demo, team=desk).count() > 0
