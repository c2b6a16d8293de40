"""NPS relationship surveys: the audience (the customer list's filters, consent, unsubscribed, email), sending at the
tenant's rate (the throttled job, also through a real worker), answering and unsubscribing through the signed link,
NPS computed on known scores."""

import pytest
from celery.schedules import crontab
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from crm.celery import app
from crm.errors import DomainError
from crm.models import AuditEvent, OutboundMessage
from customers.models import Contact, Customer
from marketing.models import Segment
from service import tasks
from service.models import NpsResponse, NpsRound
from service.selectors.survey import nps_rounds
from service.services.nps import nps_answer, nps_round_create, nps_send_pending
from service.services.survey import NPS, survey_token
from tests.conftest import build_world, wait_for, worker_settled

from .helpers import make_customer


def consenting(world, name, email, mobile):
    customer, contact = make_customer(world.rep1, name, email, mobile)
    Contact.objects.filter(pk=contact.pk).update(marketing_consent=True, consent_at=timezone.now())
    return customer, Contact.objects.get(pk=contact.pk)


@pytest.fixture
def audience(world_a):
    """Three reachable contacts; one without consent; one unsubscribed; one without an email."""
    reachable = [
        consenting(world_a, "云帆科技有限公司", "li.na@yunfan.example", "13800138000")[1],
        consenting(world_a, "晨光文具有限公司", "wang@chenguang.example", "13700137000")[1],
        consenting(world_a, "远方贸易有限公司", "zhao@yuanfang.example", "13600136000")[1],
    ]
    make_customer(world_a.rep1, "无同意有限公司", "no@consent.example", "13500135000")
    _c, gone = consenting(world_a, "已退订有限公司", "gone@away.example", "13400134000")
    Contact.objects.filter(pk=gone.pk).update(unsubscribed_at=timezone.now())
    consenting(world_a, "无邮箱有限公司", "", "13300133000")
    return world_a, reachable


@pytest.mark.django_db
def test_a_round_invites_the_reachable_contacts_of_the_matching_customers(audience, world_b):
    world, reachable = audience
    consenting(world_b, "别家有限公司", "other@b.example", "13200132000")
    nps_round, invited = nps_round_create(acting_user=world.admin, name="2026 年度调查")
    assert invited == 3
    assert set(NpsResponse.objects.filter(round=nps_round).values_list("contact_id", flat=True)) == {
        c.pk for c in reachable
    }
    assert set(NpsResponse.objects.values_list("status", flat=True)) == {"pending"}
    assert not OutboundMessage.objects.filter(key__startswith="nps:").exists()  # the job sends, at its rate
    narrowed, count = nps_round_create(acting_user=world.admin, name="晨光", query="q=晨光")
    assert count == 1 and narrowed.filters == {"query": "q=晨光"}
    assert AuditEvent.objects.filter(action="nps.create").count() == 2


@pytest.mark.django_db
def test_only_admins_start_a_round_and_names_are_unique(audience):
    world, _reachable = audience
    with pytest.raises(PermissionDenied):
        nps_round_create(acting_user=world.manager, name="经理的调查")
    nps_round_create(acting_user=world.admin, name="年度调查")
    with pytest.raises(DomainError):
        nps_round_create(acting_user=world.admin, name="年度调查")
    assert NpsRound.objects.count() == 1 and NpsResponse.objects.count() == 3


@pytest.mark.django_db
def test_invitations_go_out_at_the_tenants_rate_with_an_unsubscribe_link(audience, settings):
    settings.NPS_SEND_PER_RUN = 2
    world, reachable = audience
    nps_round_create(acting_user=world.admin, name="年度调查")
    # Unsubscribed after the round started: dropped, never sent.
    Contact.objects.filter(pk=reachable[2].pk).update(unsubscribed_at=timezone.now())
    first = nps_send_pending(tenant_id=world.tenant.pk)
    second = nps_send_pending(tenant_id=world.tenant.pk)
    third = nps_send_pending(tenant_id=world.tenant.pk)
    assert first == {"sent": 2, "dropped": 0, "waiting": 1}
    assert second == {"sent": 0, "dropped": 1, "waiting": 0}
    assert third == {"sent": 0, "dropped": 0, "waiting": 0}
    messages = OutboundMessage.objects.filter(key__startswith="nps:")
    assert {m.to_address for m in messages} == {reachable[0].email, reachable[1].email}
    for message in messages:
        assert "/unsubscribe/" in message.headers["List-Unsubscribe"] and "推荐" in message.body


@pytest.mark.django_db
def test_answering_and_nps_on_known_scores(audience, client_for, redis_test_db):
    world, _reachable = audience
    nps_round, _count = nps_round_create(acting_user=world.admin, name="年度调查")
    nps_send_pending(tenant_id=world.tenant.pk)
    first, second, third = NpsResponse.objects.filter(round=nps_round).order_by("pk")
    link = f"/s/{survey_token(NPS, world.tenant.pk, first.pk)}/"
    assert "推荐" in Client().get(link).content.decode()
    assert Client().post(link, {"score": "3", "comment": "价格太高"}).status_code == 200
    assert Client().post(link, {"score": "10", "comment": "后来很满意"}).status_code == 200
    nps_answer(tenant_id=world.tenant.pk, response_id=second.pk, score=9)
    nps_answer(tenant_id=world.tenant.pk, response_id=third.pk, score=5)
    first.refresh_from_db()
    assert (first.score, first.comment) == (10, "后来很满意")
    [shown] = nps_rounds(world.admin)
    # 2 promoters, 1 detractor of 3 answers: 66.7 − 33.3.
    assert (shown.answers, shown.promoters, shown.detractors, shown.nps) == (3, 2, 1, 33.3)
    page = client_for(world.admin).get("/tickets/surveys/").content.decode()
    assert 'data-testid="nps-value">33.3<' in page
    assert nps_rounds(world.agent) == []


@pytest.mark.django_db
def test_the_unsubscribe_link_unsubscribes_the_contact(audience):
    world, reachable = audience
    nps_round_create(acting_user=world.admin, name="年度调查")
    response = NpsResponse.objects.get(contact=reachable[0])
    url = f"/s/{survey_token(NPS, world.tenant.pk, response.pk)}/unsubscribe/"
    assert Client().get(url).status_code == 200
    assert Contact.objects.get(pk=reachable[0].pk).unsubscribed_at is None
    assert Client(enforce_csrf_checks=True).post(url).status_code == 200  # one-click, RFC 8058
    assert Contact.objects.get(pk=reachable[0].pk).unsubscribed_at is not None
    assert Client().post(f"/s/{survey_token(NPS, world.tenant.pk + 999, response.pk)}/unsubscribe/").status_code == 404


@pytest.mark.django_db
def test_the_page_to_start_a_round(audience, client_for):
    world, _reachable = audience
    admin = client_for(world.admin)
    assert admin.get("/tickets/surveys/nps/new/").status_code == 200
    done = admin.post(
        "/tickets/surveys/nps/new/",
        {"name": "晨光回访", "query": "http://testserver/customers/?q=晨光", "days": "14"},
    )
    assert done.status_code == 302 and NpsRound.objects.get(name="晨光回访").responses.count() == 1
    refused = admin.post("/tickets/surveys/nps/new/", {"name": "", "days": "400"})
    assert refused.status_code == 422
    assert client_for(world.manager).get("/tickets/surveys/nps/new/").status_code == 403


def test_the_beat_sends_invitations_every_minute():
    entry = app.conf.beat_schedule["service-send-nps-invitations"]
    assert entry["task"] == "service.tasks.send_nps_invitations" and entry["schedule"] == crontab(minute="*")


@pytest.mark.django_db
def test_the_dispatcher_enqueues_one_run_per_tenant_with_invitations(audience, monkeypatch):
    world, _reachable = audience
    queued = []
    monkeypatch.setattr("crm.services.outbox.enqueue", lambda task, *args: queued.append((task.name, args)))
    assert tasks.send_nps_invitations() == 0
    nps_round_create(acting_user=world.admin, name="年度调查")
    queued.clear()
    assert tasks.send_nps_invitations() == 1
    assert queued == [("service.tasks.send_tenant_nps", (world.tenant.pk,))]


@pytest.mark.django_db(transaction=True)
def test_invitations_through_a_real_worker(celery_worker):
    world = build_world("NW")
    consenting(world, "云帆科技有限公司", "li.na@yunfan.example", "13800138000")
    consenting(world, "晨光文具有限公司", "wang@chenguang.example", "13700137000")
    nps_round_create(acting_user=world.admin, name="年度调查")  # queues the tenant's run after commit
    assert wait_for(lambda: not NpsResponse.objects.filter(status="pending").exists()), "not sent"
    for _ in range(2):
        tasks.send_nps_invitations.delay()
    assert worker_settled()
    assert OutboundMessage.objects.filter(key__startswith="nps:").count() == 2


@pytest.fixture
def segment_audience(audience, world_b):
    """A marketing segment of the Shanghai customers (two of the reachable contacts), and one of another tenant."""
    world, reachable = audience
    Customer.objects.filter(pk__in=[c.customer_id for c in reachable[:2]]).update(region="上海")
    mine = Segment.objects.create(tenant=world.tenant, name="上海客户", owner=world.admin, filters={"region": "上海"})
    theirs = Segment.objects.create(tenant=world_b.tenant, name="别家", owner=world_b.admin, filters={})
    return world, reachable, mine, theirs


@pytest.mark.django_db
def test_a_round_can_target_a_segment_through_the_registry(segment_audience):
    world, reachable, mine, theirs = segment_audience
    nps_round, invited = nps_round_create(acting_user=world.admin, name="上海调查", audience=f"segment:{mine.pk}")
    assert invited == 2 and nps_round.filters == {"audience": f"segment:{mine.pk}"}
    assert set(nps_round.responses.values_list("contact_id", flat=True)) == {c.pk for c in reachable[:2]}
    for bad in (f"segment:{theirs.pk}", "segment:999999", "segment:x", "nothing:1"):
        with pytest.raises(DomainError) as refused:
            nps_round_create(acting_user=world.admin, name=f"坏的{bad}", audience=bad)
        assert refused.value.field == "audience"
    assert NpsRound.objects.count() == 1 and NpsResponse.objects.count() == 2


@pytest.mark.django_db
def test_the_round_page_offers_the_segments(segment_audience, client_for):
    world, _reachable, mine, theirs = segment_audience
    admin = client_for(world.admin)
    page = admin.get("/tickets/surveys/nps/new/").content.decode()
    assert f'value="segment:{mine.pk}"' in page and "上海客户" in page and "别家" not in page
    done = admin.post("/tickets/surveys/nps/new/", {"name": "按分群", "audience": f"segment:{mine.pk}", "days": "14"})
    assert done.status_code == 302 and NpsRound.objects.get(name="按分群").responses.count() == 2
    refused = admin.post("/tickets/surveys/nps/new/", {"name": "外家", "audience": f"segment:{theirs.pk}", "days": "7"})
    assert refused.status_code == 422 and not NpsRound.objects.filter(name="外家").exists()
