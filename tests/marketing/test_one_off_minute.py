"""One-off campaigns go out at their HH:MM, tenant-local: a check every minute that queues nothing when nothing is
due, sends a campaign once, and sends it again only when it is moved to another day or time."""

import datetime as dt

import pytest
from celery.schedules import crontab
from django.urls import reverse

from crm.celery import app
from crm.models import OutboundMessage
from marketing import tasks
from marketing.models import CareCampaign, Greeting
from marketing.selectors.care import one_off_due
from marketing.services.campaign import campaign_save
from marketing.services.greeting import greetings_run, one_off_greetings_run

from .helpers import at_shanghai, make_contact


def one_off(world, **fields):
    values = {
        "name": "双十一特惠",
        "kind": CareCampaign.Kind.ONE_OFF,
        "send_on": dt.date(2026, 11, 11),
        "send_hour": 9,
        "send_minute": 30,
        "email_subject": "{{ contact.name }}，特惠来了",
        "email_body": "……",
        **fields,
    }
    return CareCampaign.objects.create(tenant=world.tenant, **values)


@pytest.mark.django_db
def test_a_one_off_goes_out_at_its_minute_and_once(world_a):
    campaign = one_off(world_a)
    make_contact(world_a.rep1, "特惠客户")
    run = one_off_greetings_run
    assert run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 29)) == {"greeted": 0, "skipped": 0}
    assert run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 30))["greeted"] == 1
    campaign.refresh_from_db()
    assert campaign.sent_at is not None
    assert not one_off_due(world_a.tenant, at_shanghai(2026, 11, 11, 9, 31))
    assert run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 31))["greeted"] == 0
    # The hourly run the same day sends nothing more either.
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 10, 3))["greeted"] == 0
    assert Greeting.objects.count() == 1 and OutboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_the_hourly_run_respects_the_minute_too(world_a):
    one_off(world_a)
    make_contact(world_a.rep1, "特惠客户")
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 3))["greeted"] == 0
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 45))["greeted"] == 1


@pytest.mark.django_db
def test_the_minute_check_queues_only_tenants_with_a_campaign_due(
    world_a, world_b, monkeypatch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    one_off(world_a)
    one_off(world_b, send_minute=45)
    queued = []
    monkeypatch.setattr(
        tasks.send_tenant_one_off_greetings, "apply_async", lambda args, **options: queued.append(args[0])
    )
    # Nothing due: one query per tenant and nothing queued.
    with django_assert_max_num_queries(12):
        assert tasks.send_one_off_greetings(now=at_shanghai(2026, 11, 11, 9, 29).isoformat()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_one_off_greetings(now=at_shanghai(2026, 11, 11, 9, 30).isoformat()) == 1
    assert queued == [world_a.tenant.pk]


@pytest.mark.django_db
def test_moving_a_sent_one_off_to_another_time_sends_it_then(world_a):
    campaign = one_off(world_a)
    make_contact(world_a.rep1, "特惠客户")
    one_off_greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 11, 9, 30))
    campaign.refresh_from_db()
    assert campaign.sent_at is not None
    campaign_save(acting_user=world_a.admin, data={"send_on": dt.date(2026, 12, 12)}, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.sent_at is None
    make_contact(world_a.rep1, "新来的客户")
    # Sent again on the new day: to the contact added since; the first is greeted once a year by a campaign.
    assert one_off_greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 12, 12, 9, 30))["greeted"] == 1
    assert sorted(Greeting.objects.values_list("contact__name", flat=True)) == ["新来的客户", "特惠客户"]


@pytest.mark.django_db
def test_the_form_takes_the_minute_and_birthdays_stay_on_the_hour(world_a, client_for):
    client = client_for(world_a.admin)
    post = {
        "name": "新品发布",
        "kind": "one_off",
        "is_active": "on",
        "send_on": "2026-12-01",
        "send_hour": "14",
        "send_minute": "45",
        "channel": "email",
        "email_subject": "新品",
        "email_body": "{{ contact.name }}您好",
        "coupon_valid_days": "30",
        "coupon_min_order": "0",
    }
    assert client.post(reverse("marketing:campaign_create"), post).status_code == 302
    campaign = CareCampaign.objects.get()
    assert (campaign.send_hour, campaign.send_minute) == (14, 45)
    bad = client.post(reverse("marketing:campaign_edit", args=[campaign.pk]), {**post, "send_minute": "60"})
    assert bad.status_code == 422
    campaign.refresh_from_db()
    assert campaign.send_minute == 45
    birthday = {**post, "name": "生日", "kind": "birthday", "send_on": ""}
    assert client.post(reverse("marketing:campaign_create"), birthday).status_code == 302
    assert CareCampaign.objects.get(kind="birthday").send_minute == 0


def test_beat_checks_one_off_campaigns_every_minute():
    entry = app.conf.beat_schedule["marketing-send-one-off-greetings"]
    assert entry["task"] == "marketing.tasks.send_one_off_greetings"
    assert entry["schedule"] == crontab(minute="*")
    assert "marketing.tasks.send_tenant_one_off_greetings" in app.tasks
