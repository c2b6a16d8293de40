"""Campaign blasts: consent and unsubscribes judged by the one rule, recipients unique per contact, the per-tenant
throttle, resuming after a crash without messaging anyone twice, test send, schedule and cancel, the pages, and the
job through a real worker."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from crm.models import OutboundMessage
from crm.services import notification
from customers.models import Contact, Customer
from marketing import tasks
from marketing.models import Blast, BlastRecipient, MarketingSettings, Segment
from marketing.services import blast as blast_service
from marketing.services.blast import blast_cancel, blast_save, blast_schedule, blast_send_test, blasts_run

from ..conftest import build_world, wait_for, worker_settled
from .campaigns import make_campaign
from .helpers import make_contact

EMAIL = {
    "name": "展会邀请",
    "channel": "email",
    "email_subject": "{{ contact.name }}，邀请您参加展会",
    "email_body": "{{ customer.name }}的{{ contact.name }}您好：欢迎莅临 A12 展位。—— {{ owner.name }}",
    "sms_body": "",
}


def scheduled_blast(world, **fields):
    campaign = make_campaign(world)
    blast = blast_save(acting_user=world.manager, campaign=campaign, data={**EMAIL, **fields})
    return blast_schedule(acting_user=world.manager, blast=blast, send_at=timezone.now() - dt.timedelta(minutes=1))


@pytest.fixture
def run(django_capture_on_commit_callbacks, deliver_now):
    """One run of a tenant's blast job, its after-commit deliveries done at once."""

    def go(world):
        with django_capture_on_commit_callbacks(execute=True):
            return blasts_run(tenant_id=world.tenant.pk)

    return go


def rate(world, n):
    MarketingSettings.objects.create(tenant=world.tenant, blast_rate_per_minute=n)


@pytest.mark.django_db
def test_a_blast_messages_those_who_may_be_messaged_and_says_why_not_the_others(world_a, run):
    make_contact(world_a.rep1, "王芳")
    make_contact(world_a.rep1, "没同意", consent=False)
    make_contact(world_a.rep2, "退订了", unsubscribed_at=timezone.now())
    make_contact(world_a.rep2, "没邮箱", email="")
    blast = scheduled_blast(world_a)

    result = run(world_a)

    assert result == {"started": 1, "queued": 1, "done": 1}
    statuses = dict(BlastRecipient.objects.values_list("contact__name", "status"))
    assert statuses == {"王芳": "queued", "没同意": "no_consent", "退订了": "unsubscribed", "没邮箱": "no_address"}
    assert [m.to for m in mail.outbox] == [[BlastRecipient.objects.get(status="queued").contact.email]]
    body = mail.outbox[0].body
    assert "王芳的公司的王芳您好" in body and "/care/unsubscribe/" in body
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    blast.refresh_from_db()
    assert blast.status == Blast.Status.DONE
    assert OutboundMessage.objects.get(key__startswith="blast:").status == OutboundMessage.Status.SENT


@pytest.mark.django_db
def test_sending_is_throttled_to_the_tenants_rate_and_nobody_gets_it_twice(world_a, run):
    for i in range(7):
        make_contact(world_a.rep1, f"客户联系人{i}")
    rate(world_a, 3)
    blast = scheduled_blast(world_a)

    assert run(world_a)["queued"] == 3
    assert len(mail.outbox) == 3
    blast.refresh_from_db()
    assert blast.status == Blast.Status.SENDING
    assert run(world_a)["queued"] == 3
    assert run(world_a)["queued"] == 1
    assert run(world_a) == {"started": 0, "queued": 0, "done": 0}
    assert len(mail.outbox) == 7 and len({m.to[0] for m in mail.outbox}) == 7
    blast.refresh_from_db()
    assert blast.status == Blast.Status.DONE


@pytest.mark.django_db
def test_a_run_that_crashes_mid_batch_is_resumed_without_duplicates(world_a, run, monkeypatch):
    for i in range(4):
        make_contact(world_a.rep1, f"联系人{i}")
    scheduled_blast(world_a)
    real = blast_service.messages_queue_bulk

    def crash(**kwargs):
        real(**kwargs)
        raise DatabaseError("the worker died")

    monkeypatch.setattr(blast_service, "messages_queue_bulk", crash)
    with pytest.raises(DatabaseError):
        run(world_a)
    # The recipients were inserted when the blast started; the batch rolled back whole.
    assert BlastRecipient.objects.filter(status="pending").count() == 4
    assert not OutboundMessage.objects.exists() and not mail.outbox

    monkeypatch.setattr(blast_service, "messages_queue_bulk", real)
    assert run(world_a)["queued"] == 4
    assert run(world_a)["queued"] == 0
    assert len(mail.outbox) == 4
    assert BlastRecipient.objects.filter(status="queued", message__isnull=False).count() == 4


@pytest.mark.django_db
def test_a_blast_waits_for_its_time_and_a_cancelled_one_sends_nobody_else(world_a, run):
    make_contact(world_a.rep1, "甲")
    make_contact(world_a.rep1, "乙")
    campaign = make_campaign(world_a)
    later = blast_save(acting_user=world_a.admin, campaign=campaign, data=EMAIL)
    blast_schedule(acting_user=world_a.admin, blast=later, send_at=timezone.now() + dt.timedelta(hours=2))
    assert run(world_a) == {"started": 0, "queued": 0, "done": 0}

    rate(world_a, 1)
    blast_schedule(acting_user=world_a.admin, blast=later, send_at=timezone.now())
    assert run(world_a)["queued"] == 1
    blast_cancel(acting_user=world_a.admin, blast=later)
    assert run(world_a)["queued"] == 0
    assert len(mail.outbox) == 1
    assert BlastRecipient.objects.filter(status="pending").count() == 1


@pytest.mark.django_db
def test_an_sms_blast_goes_through_the_sms_backend(world_a, run, settings):
    settings.SMS_BACKEND = "crm.services.notification.LocmemSmsBackend"
    make_contact(world_a.rep1, "短信客户", mobile="+8613800138000")
    make_contact(world_a.rep1, "没手机")
    scheduled_blast(world_a, channel="sms", email_subject="", email_body="", sms_body="{{ contact.name }}，展会见！")
    run(world_a)
    assert [m["to"] for m in notification.sms_outbox] == ["+8613800138000"]
    assert notification.sms_outbox[0]["body"].startswith("短信客户，展会见！")
    assert BlastRecipient.objects.get(contact__name="没手机").status == "no_address"


@pytest.mark.django_db
def test_test_send_reaches_only_the_acting_user(world_a, deliver_now, django_capture_on_commit_callbacks):
    contact = make_contact(world_a.rep1, "预览客户")
    blast = blast_save(acting_user=world_a.manager, campaign=make_campaign(world_a), data=EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        blast_send_test(acting_user=world_a.manager, blast=blast, contact=contact)
    assert [m.to for m in mail.outbox] == [[world_a.manager.email]]
    assert mail.outbox[0].subject.startswith("[Test] 预览客户")
    assert not BlastRecipient.objects.exists()


@pytest.mark.django_db
def test_blast_pages_for_managers_and_refusals(world_a, world_b, client_for):
    campaign = make_campaign(world_a)
    make_contact(world_a.rep1, "页面客户")
    client = client_for(world_a.manager)
    post = {**EMAIL, "email_body": "{{ contact.password }}"}
    response = client.post(reverse("campaigns:blast_create", args=[campaign.pk]), post)
    assert response.status_code == 422 and not Blast.objects.exists()
    response = client.post(reverse("campaigns:blast_create", args=[campaign.pk]), EMAIL)
    blast = Blast.objects.get()
    assert response.url == reverse("campaigns:blast_detail", args=[blast.pk])
    page = client.get(reverse("campaigns:blast_detail", args=[blast.pk])).content.decode()
    assert "页面客户的公司的页面客户您好" in page
    client.post(reverse("campaigns:blast_schedule", args=[blast.pk]), {"send_at": ""})
    blast.refresh_from_db()
    assert blast.status == Blast.Status.SCHEDULED
    assert client_for(world_a.rep1).get(reverse("campaigns:blast_detail", args=[blast.pk])).status_code == 403
    outsider = client_for(world_b.admin)
    for name in ("campaigns:blast_detail", "campaigns:blast_edit"):
        assert outsider.get(reverse(name, args=[blast.pk])).status_code == 404
    for name in ("campaigns:blast_test", "campaigns:blast_schedule", "campaigns:blast_cancel"):
        assert outsider.post(reverse(name, args=[blast.pk])).status_code == 404
    assert outsider.get(reverse("campaigns:blast_create", args=[campaign.pk])).status_code == 404


@pytest.mark.django_db
def test_the_recipient_list_has_bounded_queries(world_a, client_for, run, django_assert_max_num_queries):
    for i in range(30):
        make_contact(world_a.rep1, f"很多人{i}")
    blast = scheduled_blast(world_a)
    run(world_a)
    client = client_for(world_a.admin)
    client.get(reverse("campaigns:blast_detail", args=[blast.pk]))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("campaigns:blast_detail", args=[blast.pk]))
    assert len(response.context["page"].object_list) == 30


@pytest.mark.django_db(transaction=True)
def test_blasts_through_a_real_worker_are_sent_once(celery_worker):
    world_a = build_world("BA")
    world_b = build_world("BB")
    for world in (world_a, world_b):
        make_contact(world.rep1, f"{world.tenant.name}的客户甲")
        make_contact(world.rep1, f"{world.tenant.name}的客户乙")
        scheduled_blast(world)

    # What beat does every minute: the dispatcher fans out per tenant; then again, and the tenant task twice.
    tasks.send_blasts.delay()
    assert wait_for(lambda: OutboundMessage.objects.filter(status="sent").count() == 4), "blasts not delivered"
    tasks.send_blasts.delay()
    tasks.send_tenant_blasts.delay(world_a.tenant.pk)
    tasks.send_tenant_blasts.delay(world_a.tenant.pk)
    assert worker_settled()
    assert len(mail.outbox) == 4
    assert BlastRecipient.objects.filter(status="queued").count() == 4
    assert set(Blast.objects.values_list("status", flat=True)) == {"done"}


@pytest.mark.django_db
def test_a_segment_is_a_blasts_audience_and_a_deleted_one_picks_nobody(world_a, run, client_for):
    shanghai = make_contact(world_a.rep1, "上海客户")
    Customer.objects.filter(pk=shanghai.customer_id).update(region="上海")
    make_contact(world_a.rep2, "北京客户")
    segment = Segment.objects.create(tenant=world_a.tenant, name="上海客户群", filters={"region": "上海"})
    campaign = make_campaign(world_a)
    response = client_for(world_a.manager).post(
        reverse("campaigns:blast_create", args=[campaign.pk]), {**EMAIL, "segment": segment.pk}
    )
    blast = Blast.objects.get()
    assert response.status_code == 302 and blast.audience == {"segment": segment.pk}
    gone = blast_save(
        acting_user=world_a.manager, campaign=campaign, data={**EMAIL, "audience": {"segment": segment.pk + 999}}
    )
    for each in (blast, gone):
        blast_schedule(acting_user=world_a.manager, blast=each, send_at=timezone.now())
    run(world_a)
    assert list(BlastRecipient.objects.values_list("blast_id", "contact__name")) == [(blast.pk, "上海客户")]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_blast_forms_audience_count_follows_the_segment_and_channel(
    world_a, world_b, client_for, monkeypatch, django_assert_max_num_queries
):
    shanghai = make_contact(world_a.rep1, "上海有手机", mobile="13800138000")
    Customer.objects.filter(pk=shanghai.customer_id).update(region="上海")
    for contact in (
        make_contact(world_a.rep2, "北京只有邮箱"),
        make_contact(world_a.rep2, "北京没同意", consent=False),
    ):
        Customer.objects.filter(pk=contact.customer_id).update(region="北京")
    Contact.objects.filter(name="北京没同意").update(mobile="13700137000")
    segment = Segment.objects.create(tenant=world_a.tenant, name="上海客户群", filters={"region": "上海"})
    foreign = Segment.objects.create(tenant=world_b.tenant, name="别家客户群", filters={})
    campaign = make_campaign(world_a)
    client = client_for(world_a.manager)
    form = client.get(reverse("campaigns:blast_create", args=[campaign.pk])).content.decode()
    url = reverse("campaigns:blast_audience_count")
    assert f'hx-get="{url}"' in form and 'id="blast-audience-count"' in form
    assert form.count("data-blast-audience") >= 6  # channel, segment and the four customer filters

    def count(user_client=client, **query):
        """(contacts in the audience, those the blast may message), as the partial shows them."""
        with django_assert_max_num_queries(10):  # the request's session, user and tenant, then two capped counts
            response = user_client.get(url, query, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        shown = re.search(r'data-testid="blast-audience-count">(.*)</span>', response.content.decode()).group(1)
        return tuple(re.findall(r"\d[\d,]*\+?", shown))

    assert count(channel="email") == ("3", "2")
    assert count(channel="sms") == ("3", "1")  # of those with consent, one has a mobile
    assert count(channel="sms", segment=segment.pk) == ("1", "1")
    assert count(channel="sms", audience_region="北京") == ("2", "0")
    # Another company's segment, or a made-up one, counts nobody (never everybody).
    assert count(channel="email", segment=foreign.pk) == ("0", "0")
    assert count(channel="email", segment="x") == ("0", "0")
    assert count(client_for(world_b.admin), segment=segment.pk) == ("0", "0")
    # Capped: beyond COUNT_CAP contacts the count reads "N+".
    monkeypatch.setattr("marketing.selectors.segment.COUNT_CAP", 1)
    assert count(channel="email") == ("1+", "1+")
    assert client_for(world_a.rep1).get(url).status_code == 403
