"""Satisfaction surveys (CSAT): sent once when a ticket is resolved (or closed without being resolved first), through the outbox, to a reachable contact;
answered through a signed link (expiry, tampering, another tenant); answering twice updates; a low rating tells
the agent's manager and shows on the ticket."""

import datetime as dt
import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from crm.models import AuditEvent, Notification, OutboundMessage
from crm.services.notification import message_deliver
from customers.models import Contact
from customers.services.privacy import contact_erase, contact_personal_data
from service.models import SatisfactionSurvey, ServiceSettings, Status
from service.services.survey import CSAT, read_survey_token, survey_answer, survey_token
from service.services.ticket import ticket_customer_message, ticket_reply, ticket_set_status

from .helpers import make_customer, make_ticket


@pytest.fixture
def deliver_now(monkeypatch):
    monkeypatch.setattr(
        "crm.tasks.deliver_message.apply_async", lambda args, **options: message_deliver(message_id=args[1])
    )


def resolved(world, contact=None, customer=None, **kw):
    if customer is None:
        customer, contact = make_customer(world.rep1)
    ticket = make_ticket(world, customer, contact, assignee=world.agent, **kw)
    ticket_set_status(acting_user=world.agent, ticket=ticket, status=Status.RESOLVED)
    return ticket


def with_manager(world):
    world.service_team.manager = world.manager
    world.service_team.save(update_fields=["manager"])


def link_of(survey):
    return f"/s/{survey_token(CSAT, survey.tenant_id, survey.pk)}/"


@pytest.mark.django_db
def test_resolving_sends_one_survey_by_email_in_the_tenants_language(
    world_a, django_capture_on_commit_callbacks, deliver_now
):
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, assignee=world_a.agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(acting_user=world_a.agent, ticket=ticket, status=Status.RESOLVED)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.agent, survey.team, survey.contact) == (world_a.agent, ticket.team, contact)
    assert survey.expires_at - survey.sent_at == dt.timedelta(days=7)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [contact.email]
    # The tenant speaks zh-hans: the invitation is in Chinese, with the signed link.
    body = mail.outbox[0].body
    assert "满意" in body
    token = re.search(r"/s/([^/\s]+)/", body).group(1)
    assert read_survey_token(token) == (CSAT, world_a.tenant.pk, survey.pk)
    # Reopened and resolved again: still one survey, no second message.
    with django_capture_on_commit_callbacks(execute=True):
        ticket_customer_message(ticket=ticket, body="还是不行")
        ticket_reply(acting_user=world_a.agent, ticket=ticket, body="已处理", public=True, status=Status.RESOLVED)
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 1
    assert OutboundMessage.objects.filter(key__startswith="csat:").count() == 1


@pytest.mark.django_db
def test_closing_a_ticket_never_resolved_sends_the_survey_once(world_a):
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, assignee=world_a.agent)
    ticket_set_status(acting_user=world_a.agent, ticket=ticket, status=Status.CLOSED)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.agent, survey.contact) == (world_a.agent, contact)
    # Reopened by the customer, resolved, closed again: still the one survey and its one message.
    ticket_customer_message(ticket=ticket, body="还是不行")
    ticket_set_status(acting_user=world_a.agent, ticket=ticket, status=Status.RESOLVED)
    ticket_set_status(acting_user=world_a.agent, ticket=ticket, status=Status.CLOSED)
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 1
    assert OutboundMessage.objects.filter(key__startswith="csat:").count() == 1
    # Resolved then closed: one survey, sent when resolved. Closed straight from pending, surveys off: none.
    resolved_first = resolved(world_a, contact, customer)
    ticket_set_status(acting_user=world_a.agent, ticket=resolved_first, status=Status.CLOSED)
    assert OutboundMessage.objects.filter(key__startswith="csat:").count() == 2
    ServiceSettings.objects.update_or_create(tenant=world_a.tenant, defaults={"survey_on": False})
    quiet = make_ticket(world_a, customer, contact, assignee=world_a.agent)
    ticket_set_status(acting_user=world_a.agent, ticket=quiet, status=Status.PENDING)
    ticket_set_status(acting_user=world_a.agent, ticket=quiet, status=Status.CLOSED)
    assert not SatisfactionSurvey.objects.filter(ticket=quiet).exists()


@pytest.mark.django_db
def test_no_survey_when_switched_off_unsubscribed_or_unreachable(world_a):
    customer, contact = make_customer(world_a.rep1)
    Contact.objects.filter(pk=contact.pk).update(unsubscribed_at=timezone.now())
    contact.refresh_from_db()
    resolved(world_a, contact, customer)
    no_address, other = make_customer(world_a.rep1, "无名贸易有限公司", "", "")
    resolved(world_a, None, no_address)
    ServiceSettings.objects.update_or_create(tenant=world_a.tenant, defaults={"survey_on": False})
    fine, fine_contact = make_customer(world_a.rep1, "晨光文具有限公司", "wang@chenguang.example", "13700137000")
    resolved(world_a, fine_contact, fine)
    assert not SatisfactionSurvey.objects.exists()
    assert not OutboundMessage.objects.filter(key__startswith="csat:").exists()


@pytest.mark.django_db
def test_a_contact_without_email_gets_the_link_by_sms(world_a):
    customer, contact = make_customer(world_a.rep1, email="")
    resolved(world_a, contact, customer)
    message = OutboundMessage.objects.get(key__startswith="csat:")
    assert message.channel == OutboundMessage.Channel.SMS and message.to_address == contact.mobile
    assert "/s/" in message.body


@pytest.mark.django_db
def test_tokens_name_one_survey_and_refuse_tampering():
    token = survey_token(CSAT, 3, 41)
    assert read_survey_token(token) == (CSAT, 3, 41)
    payload, rest = token.split(":", 1)
    assert read_survey_token("x" + token) is None
    assert read_survey_token(payload + ":" + rest[::-1]) is None
    forged = signing.dumps([CSAT, 3, 41], salt="another.salt", compress=True)
    assert read_survey_token(forged) is None


@pytest.mark.django_db
def test_answering_through_the_link_and_again_updates(world_a, redis_test_db):
    ticket = resolved(world_a)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    client = Client()
    page = client.get(link_of(survey))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "您对我们的服务满意吗" in page.content.decode() and ticket.display_number in page.content.decode()
    answered = client.post(link_of(survey), {"rating": "5", "comment": "很快就解决了"})
    assert answered.status_code == 200 and b"survey-thanks" in answered.content
    again = client.post(link_of(survey), {"rating": "4", "comment": "后来又想了想"})
    assert again.status_code == 200
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 1
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "后来又想了想")
    assert AuditEvent.objects.filter(action="survey.answer", object_id=str(ticket.pk)).count() == 2


@pytest.mark.django_db
def test_the_answer_page_checks_csrf(world_a, redis_test_db):
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    client = Client(enforce_csrf_checks=True)
    assert client.post(link_of(survey), {"rating": "5"}).status_code == 403
    survey.refresh_from_db()
    assert survey.rating is None


@pytest.mark.django_db
def test_a_bad_rating_is_refused_with_nothing_written(world_a, redis_test_db):
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    page = Client().post(link_of(survey), {"rating": "9", "comment": "?"})
    assert page.status_code == 422
    survey.refresh_from_db()
    assert survey.rating is None and survey.answered_at is None


@pytest.mark.django_db
def test_an_expired_link_takes_no_answer(world_a, redis_test_db):
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    SatisfactionSurvey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    page = Client().get(link_of(survey))
    assert page.status_code == 200 and b"survey-expired" in page.content
    refused = Client().post(link_of(survey), {"rating": "5"})
    assert refused.status_code == 422
    survey.refresh_from_db()
    assert survey.rating is None


@pytest.mark.django_db
def test_a_tampered_or_foreign_token_is_404(world_a, world_b, redis_test_db):
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    token = survey_token(CSAT, survey.tenant_id, survey.pk)
    assert Client().get(f"/s/{token[:-2]}xx/").status_code == 404
    # A genuine signature over another tenant's id finds nothing: the survey belongs to A.
    assert Client().get(f"/s/{survey_token(CSAT, world_b.tenant.pk, survey.pk)}/").status_code == 404
    assert Client().post(f"/s/{survey_token(CSAT, world_b.tenant.pk, survey.pk)}/", {"rating": "1"}).status_code == 404
    survey.refresh_from_db()
    assert survey.rating is None


@pytest.mark.django_db
def test_a_low_rating_tells_the_agents_manager_once_and_shows_on_the_ticket(world_a, client_for):
    with_manager(world_a)
    ticket = resolved(world_a)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    survey_answer(tenant_id=world_a.tenant.pk, survey_id=survey.pk, rating=2, comment="等了三天")
    survey_answer(tenant_id=world_a.tenant.pk, survey_id=survey.pk, rating=1, comment="等了三天，很不满意")
    notes = Notification.objects.filter(key=f"csat-low:{survey.pk}")
    assert [n.recipient for n in notes] == [world_a.manager]
    assert "2/5" in notes[0].title and ticket.display_number in notes[0].title
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED  # reopens nothing
    page = client_for(world_a.agent).get(f"/tickets/{ticket.pk}/")
    assert b'data-testid="ticket-survey"' in page.content and "很不满意" in page.content.decode()
    assert b"1/5" in page.content


@pytest.mark.django_db
def test_a_good_rating_tells_nobody(world_a):
    with_manager(world_a)
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    survey_answer(tenant_id=world_a.tenant.pk, survey_id=survey.pk, rating=4)
    assert not Notification.objects.filter(key__startswith="csat-low:").exists()


@pytest.mark.django_db
def test_the_rate_limit_holds_back_many_answers_from_one_address(world_a, redis_test_db, settings):
    settings.SURVEY_ANSWER_RATE = "2/m"
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a))
    client = Client()
    codes = [client.post(link_of(survey), {"rating": "5"}, REMOTE_ADDR="10.0.0.9").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_a_persons_survey_comments_are_exported_and_erased_on_request(world_a):
    customer, contact = make_customer(world_a.rep1)
    survey = SatisfactionSurvey.objects.get(ticket=resolved(world_a, contact, customer))
    survey_answer(tenant_id=world_a.tenant.pk, survey_id=survey.pk, rating=3, comment="我是李娜，电话 13800138000")
    data = contact_personal_data(acting_user=world_a.admin, contact=contact)
    assert data["satisfaction_surveys"][0]["comment"].startswith("我是李娜")
    contact_erase(acting_user=world_a.admin, contact=contact)
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (3, "")
