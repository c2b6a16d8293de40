"""Scheduled reports: subscribing from a dashboard, the weekly job that sends each subscription's PDF once per
period (reruns and concurrent runs send nothing more), through a real worker too, and the PDF only its recipient
opens."""

from __future__ import annotations

import datetime as dt
import threading
from email import message_from_bytes
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from crm.models import OutboundMessage
from crm.services.notification import message_deliver
from reports import tasks
from reports.models import ReportDelivery, ReportSubscription
from reports.services.delivery import deliveries_send_due, period_key
from reports.services.subscription import subscription_create
from sales.services.pipeline import ensure_default_pipeline
from tests.conftest import worker_settled

from .builders import deal, stages

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, 09:30 in Shanghai.
MONDAY = dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # The emails' PDF attachments are stored files.
    settings.MEDIA_ROOT = tmp_path / "media"


def report_messages(tenant):
    return OutboundMessage.objects.filter(tenant=tenant, key__startswith="notification:")


@pytest.mark.django_db
def test_subscribing_from_a_dashboard_keeps_its_filters(world, client_for):
    c = client_for(world.manager)
    page = c.get(
        reverse("reports:subscriptions"), {"dashboard": "team", "filters": f"period=last_week&rep={world.rep1.pk}"}
    )
    assert page.status_code == 200
    response = c.post(
        reverse("reports:subscriptions"),
        {"dashboard": "team", "filters": f"period=last_week&rep={world.rep1.pk}", "frequency": "weekly", "hour": "8"},
    )
    assert response.status_code == 302
    subscription = ReportSubscription.objects.get(user=world.manager)
    assert subscription.filters == f"period=last_week&rep={world.rep1.pk}"
    assert (subscription.frequency, subscription.hour) == ("weekly", 8)


@pytest.mark.django_db
def test_a_subscription_never_keeps_filters_the_user_may_not_see(world, world_b, client_for):
    response = client_for(world.rep1).post(
        reverse("reports:subscriptions"),
        {"dashboard": "funnel", "filters": f"rep={world.rep2.pk}", "frequency": "weekly", "hour": "8"},
    )
    assert response.status_code == 422
    assert not ReportSubscription.objects.exists()


@pytest.mark.django_db
def test_period_keys_start_at_the_local_hour(world):
    weekly = ReportSubscription(frequency="weekly", hour=10)
    assert period_key(weekly, MONDAY) is None
    assert period_key(weekly, MONDAY.replace(hour=10)) == "2026-W48"
    assert period_key(weekly, MONDAY + dt.timedelta(days=3)) == "2026-W48"
    monthly = ReportSubscription(frequency="monthly", hour=8)
    assert period_key(monthly, dt.datetime(2026, 12, 1, 7, tzinfo=SHANGHAI)) is None
    assert period_key(monthly, dt.datetime(2026, 12, 1, 8, tzinfo=SHANGHAI)) == "2026-12"


@pytest.mark.django_db
def test_the_job_sends_each_subscription_once_per_week(world, client_for, django_capture_on_commit_callbacks):
    _pipeline, _open, won, _lost = stages(world.tenant)
    deal(world.rep1, "周报赢单", path=[won])
    subscription = subscription_create(
        acting_user=world.manager, dashboard="funnel", filters="period=quarter", frequency="weekly", hour=8
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=MONDAY) == 1
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=MONDAY + dt.timedelta(hours=1)) == 0
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=MONDAY + dt.timedelta(days=2)) == 0
    delivery = ReportDelivery.objects.get(subscription=subscription)
    assert bytes(delivery.pdf).startswith(b"%PDF")
    message = report_messages(world.tenant).get()
    assert message.to_address == world.manager.email
    assert reverse("reports:delivery_pdf", args=[delivery.pk]) in message.body
    # The email carries the PDF as well as the link.
    message_deliver(message_id=message.pk)
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes())
    parts = [p for p in parsed.walk() if p.get_content_disposition() == "attachment"]
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [(delivery.filename, "application/pdf")]
    assert parts[0].get_payload(decode=True) == bytes(delivery.pdf)
    # Next week is another period.
    with django_capture_on_commit_callbacks(execute=False):
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=MONDAY + dt.timedelta(days=7)) == 1
    assert report_messages(world.tenant).count() == 2
    # Only the recipient opens the PDF.
    assert client_for(world.manager).get(reverse("reports:delivery_pdf", args=[delivery.pk])).status_code == 200
    assert client_for(world.admin).get(reverse("reports:delivery_pdf", args=[delivery.pk])).status_code == 404
    assert client_for(world.rep1).get(reverse("reports:delivery_pdf", args=[delivery.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_one_email(world_a):
    ensure_default_pipeline(world_a.tenant)
    subscription_create(
        acting_user=world_a.manager, dashboard="team", filters="period=last_week", frequency="weekly", hour=8
    )
    for round_number in range(3):
        now = MONDAY + dt.timedelta(days=7 * round_number)
        barrier = threading.Barrier(2)
        results, errors = [], []

        def run(now=now, barrier=barrier, results=results, errors=errors):
            try:
                barrier.wait()
                results.append(deliveries_send_due(tenant_id=world_a.tenant.pk, now=now))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(results) == [0, 1]
    assert ReportDelivery.objects.count() == 3
    assert report_messages(world_a.tenant).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_beat_job_through_a_real_worker_sends_once(world_a, celery_worker):
    ensure_default_pipeline(world_a.tenant)
    subscription_create(
        acting_user=world_a.manager, dashboard="forecast", filters="period=month", frequency="monthly", hour=0
    )
    tasks.send_scheduled_reports.delay()
    assert worker_settled()
    tasks.send_scheduled_reports.delay()
    tasks.send_tenant_reports.delay(world_a.tenant.pk)
    assert worker_settled()
    assert ReportDelivery.objects.filter(tenant=world_a.tenant).count() == 1
    assert report_messages(world_a.tenant).count() == 1


@pytest.mark.django_db
def test_an_admin_subscribes_the_managers_of_a_team(world, client_for, django_capture_on_commit_callbacks):
    c = client_for(world.admin)
    response = c.post(
        reverse("reports:subscriptions"),
        {
            "dashboard": "forecast",
            "filters": "period=month",
            "frequency": "monthly",
            "hour": "9",
            "team": world.sales.pk,
        },
    )
    assert response.status_code == 302
    subscription = ReportSubscription.objects.get()
    assert subscription.user == world.manager and subscription.created_by == world.admin
    with django_capture_on_commit_callbacks(execute=False):
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=dt.datetime(2026, 12, 1, 10, tzinfo=SHANGHAI)) == 1
    assert report_messages(world.tenant).get().to_address == world.manager.email
    # A team without a manager is refused with a reason; a manager cannot subscribe others.
    refused = c.post(
        reverse("reports:subscriptions"),
        {"dashboard": "team", "frequency": "weekly", "hour": "8", "team": world.service_team.pk},
    )
    assert refused.status_code == 422
    assert "no active manager" in refused.content.decode()
    client_for(world.manager).post(
        reverse("reports:subscriptions"),
        {"dashboard": "team", "frequency": "weekly", "hour": "8", "team": world.sales.pk},
    )
    assert list(ReportSubscription.objects.filter(dashboard="team").values_list("user", flat=True)) == [
        world.manager.pk
    ]
    # The admin may end what they set up; the manager may end their own.
    assert (
        client_for(world.rep1).post(reverse("reports:subscription_delete", args=[subscription.pk])).status_code == 404
    )
    assert c.post(reverse("reports:subscription_delete", args=[subscription.pk])).status_code == 302
    assert not ReportSubscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.django_db
def test_a_pdf_too_big_for_an_email_is_sent_as_the_link_alone(world, settings, django_capture_on_commit_callbacks):
    settings.OUTBOUND_ATTACHMENTS_MAX_BYTES = 100
    subscription_create(acting_user=world.manager, dashboard="funnel", filters="", frequency="weekly", hour=8)
    with django_capture_on_commit_callbacks(execute=False):
        assert deliveries_send_due(tenant_id=world.tenant.pk, now=MONDAY) == 1
    message = report_messages(world.tenant).get()
    assert message.status == OutboundMessage.Status.QUEUED and "too big to attach" in message.body
    message_deliver(message_id=message.pk)
    assert mail.outbox[0].attachments == [] and "/reports/deliveries/" in mail.outbox[0].body
