"""The greeting job: who is greeted on which local day (Gregorian and lunar rules, time zones, consent, channel
fallback), and exactly once — rerun, run twice at once, killed mid-run, and through a real worker."""

import datetime as dt
import threading

import pytest
from celery.schedules import crontab
from django.core import mail
from django.db import connection

from crm.celery import app
from crm.models import OutboundMessage
from crm.services import notification
from customers.models import Contact
from marketing import tasks
from marketing.models import CareCampaign, Coupon, Greeting
from marketing.selectors.occasion import holiday_on, lunar_day
from marketing.services import greeting
from marketing.services.greeting import greetings_run, read_unsubscribe_token

from ..conftest import build_world, wait_for, worker_settled
from .helpers import at_shanghai, birthday_campaign, make_contact


@pytest.mark.django_db
def test_a_birthday_today_gets_one_greeting_with_a_coupon_and_one_email(
    world_a, django_capture_on_commit_callbacks, deliver_now
):
    birthday_campaign(world_a.tenant)
    born = make_contact(world_a.rep1, "王芳", birthday=dt.date(1990, 11, 29))
    make_contact(world_a.rep1, "李雷", birthday=dt.date(1990, 11, 30))
    with django_capture_on_commit_callbacks(execute=True):
        assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29, 9, 5)) == {
            "greeted": 1,
            "skipped": 0,
        }
    g = Greeting.objects.get()
    assert (g.contact, g.year, g.occasion, g.status, g.channel) == (
        born,
        2026,
        dt.date(2026, 11, 29),
        "queued",
        "email",
    )
    coupon = Coupon.objects.get()
    assert coupon.greeting == g and coupon.customer == born.customer and coupon.expires_on == dt.date(2026, 12, 29)
    assert len(coupon.code) == 10
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.subject == "王芳，生日快乐！"
    assert coupon.code in email.body and "王芳的公司" in email.body and world_a.rep1.full_name in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = email.extra_headers["List-Unsubscribe"].strip("<>").rstrip("/").rsplit("/", 1)[1]
    assert read_unsubscribe_token(token) == (world_a.tenant.pk, born.pk)
    assert g.message.status == OutboundMessage.Status.SENT

    # The next hourly runs of the day, and a rerun, greet nobody again.
    with django_capture_on_commit_callbacks(execute=True):
        for hour in (10, 11, 23):
            assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29, hour))["greeted"] == 0
    assert Greeting.objects.count() == 1 and Coupon.objects.count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_nothing_before_the_send_hour_and_the_local_day_decides(world_a):
    birthday_campaign(world_a.tenant, send_hour=9)
    make_contact(world_a.rep1, "上海的二十九号", birthday=dt.date(1985, 11, 29))
    make_contact(world_a.rep1, "上海的二十八号", birthday=dt.date(1985, 11, 28))
    # 17:30 UTC on the 28th is 01:30 on the 29th in Shanghai: today is the 29th there, but before 09:00.
    utc = dt.UTC
    assert greetings_run(tenant_id=world_a.tenant.pk, now=dt.datetime(2026, 11, 28, 17, 30, tzinfo=utc))["greeted"] == 0
    # 01:30 UTC on the 29th is 09:30 in Shanghai: the 29th's birthday is greeted, not the 28th's.
    assert greetings_run(tenant_id=world_a.tenant.pk, now=dt.datetime(2026, 11, 29, 1, 30, tzinfo=utc))["greeted"] == 1
    assert Greeting.objects.get().contact.name == "上海的二十九号"


@pytest.mark.django_db
def test_a_tenant_in_another_time_zone_is_greeted_on_its_own_day(world_a):
    world_a.tenant.timezone = "America/Los_Angeles"
    world_a.tenant.save(update_fields=["timezone"])
    birthday_campaign(world_a.tenant, send_hour=9)
    make_contact(world_a.rep1, "洛杉矶客户", birthday=dt.date(1980, 11, 28))
    # 10:00 in Shanghai on the 29th is 18:00 on the 28th in Los Angeles.
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29, 10))["greeted"] == 1
    assert Greeting.objects.get().occasion == dt.date(2026, 11, 28)


@pytest.mark.django_db
def test_a_contact_added_after_the_send_hour_is_greeted_on_the_next_run_that_day(world_a):
    birthday_campaign(world_a.tenant)
    make_contact(world_a.rep1, "早上的", birthday=dt.date(1990, 11, 29))
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29, 9, 3))["greeted"] == 1
    make_contact(world_a.rep1, "下午才录入的", birthday=dt.date(1991, 11, 29))
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29, 15, 3))["greeted"] == 1
    assert Greeting.objects.count() == 2


@pytest.mark.django_db
def test_29_february_is_greeted_on_28_february_in_common_years(world_a):
    birthday_campaign(world_a.tenant)
    make_contact(world_a.rep1, "闰日生", birthday=dt.date(1996, 2, 29))
    tenant_id = world_a.tenant.pk
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2027, 2, 28))["greeted"] == 1
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2027, 3, 1))["greeted"] == 0
    # A leap year has its own 29 February: the 28th greets nobody, the 29th does.
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2028, 2, 28))["greeted"] == 0
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2028, 2, 29))["greeted"] == 1
    assert list(Greeting.objects.order_by("year").values_list("occasion", flat=True)) == [
        dt.date(2027, 2, 28),
        dt.date(2028, 2, 29),
    ]


@pytest.mark.django_db
def test_lunar_birthdays_are_greeted_on_their_gregorian_day_of_the_year(world_a):
    birthday_campaign(world_a.tenant)
    # 中秋 (lunar 8/15) is 25 September 2026; this contact also has a Gregorian birthday, but prefers the lunar one.
    lunar = make_contact(
        world_a.rep1,
        "过农历生日的",
        birthday=dt.date(1970, 3, 1),
        lunar_birthday_month=8,
        lunar_birthday_day=15,
        prefers_lunar_birthday=True,
    )
    tenant_id = world_a.tenant.pk
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2026, 3, 1))["greeted"] == 0
    assert greetings_run(tenant_id=tenant_id, now=at_shanghai(2026, 9, 25))["greeted"] == 1
    g = Greeting.objects.get()
    assert (g.contact, g.year, g.occasion) == (lunar, 2026, dt.date(2026, 9, 25))


@pytest.mark.django_db
def test_a_lunar_30th_is_greeted_on_the_29th_of_a_short_month(world_a):
    birthday_campaign(world_a.tenant)
    make_contact(world_a.rep1, "三十号生", lunar_birthday_month=2, lunar_birthday_day=30)
    # Lunar 2026's second month has 29 days: its 29th is 16 April 2026.
    day = lunar_day(dt.date(2026, 4, 16))
    assert (day.month, day.day, day.days) == (2, 29, (29, 30))
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 4, 16))["greeted"] == 1


@pytest.mark.django_db
def test_contacts_without_consent_or_unsubscribed_are_skipped_with_the_reason(world_a):
    birthday_campaign(world_a.tenant)
    b = dt.date(1990, 11, 29)
    make_contact(world_a.rep1, "同意的", birthday=b)
    make_contact(world_a.rep1, "没同意的", birthday=b, consent=False)
    make_contact(world_a.rep1, "退订的", birthday=b, unsubscribed_at=at_shanghai(2026, 1, 1))
    make_contact(world_a.rep1, "没地址的", birthday=b, email="", mobile="")
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29)) == {"greeted": 1, "skipped": 3}
    assert dict(Greeting.objects.values_list("contact__name", "status")) == {
        "同意的": "queued",
        "没同意的": "no_consent",
        "退订的": "unsubscribed",
        "没地址的": "no_address",
    }
    assert Coupon.objects.count() == 1 and OutboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_a_contact_without_email_gets_an_sms(world_a, django_capture_on_commit_callbacks, deliver_now):
    birthday_campaign(world_a.tenant)
    make_contact(world_a.rep1, "只有手机", birthday=dt.date(1990, 11, 29), email="", mobile="+8613812345678")
    with django_capture_on_commit_callbacks(execute=True):
        greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    assert Greeting.objects.get().channel == "sms"
    assert len(notification.sms_outbox) == 1 and not mail.outbox
    sms = notification.sms_outbox[0]
    assert sms["to"] == "+8613812345678" and sms["body"].startswith(
        "只有手机生日快乐！券码" + Coupon.objects.get().code
    )


@pytest.mark.django_db
def test_deleted_customers_and_other_tenants_are_not_greeted(world_a, world_b):
    birthday_campaign(world_a.tenant)
    birthday_campaign(world_b.tenant)
    binned = make_contact(world_a.rep1, "回收站里的", birthday=dt.date(1990, 11, 29))
    binned.customer.__class__.objects.filter(pk=binned.customer_id).update(deleted_at=at_shanghai(2026, 11, 1))
    make_contact(world_b.rep1, "B公司的", birthday=dt.date(1990, 11, 29))
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))["greeted"] == 0
    assert greetings_run(tenant_id=world_b.tenant.pk, now=at_shanghai(2026, 11, 29))["greeted"] == 1
    assert Greeting.objects.get().tenant == world_b.tenant


@pytest.mark.django_db
def test_holiday_campaigns_greet_everyone_on_their_date_once_a_year(world_a):
    tenant = world_a.tenant
    CareCampaign.objects.create(
        tenant=tenant,
        name="中秋问候",
        kind="holiday",
        date_kind="lunar",
        month=8,
        day=15,
        email_subject="中秋快乐",
        email_body="{{ contact.name }}，中秋快乐！",
    )
    make_contact(world_a.rep1, "甲")
    make_contact(world_a.rep2, "乙")
    assert greetings_run(tenant_id=tenant.pk, now=at_shanghai(2026, 9, 24))["greeted"] == 0
    assert greetings_run(tenant_id=tenant.pk, now=at_shanghai(2026, 9, 25))["greeted"] == 2
    assert greetings_run(tenant_id=tenant.pk, now=at_shanghai(2026, 9, 25, 20))["greeted"] == 0
    assert not Coupon.objects.exists()


@pytest.mark.django_db
def test_a_public_holiday_of_a_year_the_calendar_does_not_know_warns_and_sends_nothing(world_a):
    campaign = CareCampaign.objects.create(
        tenant=world_a.tenant,
        name="国庆问候",
        kind="holiday",
        date_kind="statutory",
        holiday="National Day",
        email_subject="国庆快乐",
        email_body="国庆快乐",
    )
    make_contact(world_a.rep1, "甲")
    assert holiday_on(campaign, dt.date(2026, 10, 1)).due
    later = holiday_on(campaign, dt.date(2099, 10, 1))
    assert not later.due and "2099" in str(later.warning)
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2099, 10, 1))["greeted"] == 0
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 10, 1))["greeted"] == 1


@pytest.mark.django_db
def test_a_run_killed_mid_way_leaves_nothing_and_the_next_run_sends_once(world_a, monkeypatch):
    birthday_campaign(world_a.tenant)
    for i in range(3):
        make_contact(world_a.rep1, f"寿星{i}", birthday=dt.date(1990, 11, 29))

    def crash(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(greeting, "messages_queue_bulk", crash)
    with pytest.raises(SystemExit):
        greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    assert not Greeting.objects.exists() and not Coupon.objects.exists() and not OutboundMessage.objects.exists()
    monkeypatch.undo()
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))["greeted"] == 3
    assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))["greeted"] == 0
    assert Coupon.objects.count() == 3 and OutboundMessage.objects.count() == 3


@pytest.mark.django_db
def test_the_job_selects_with_a_bounded_number_of_queries(world_a, django_assert_max_num_queries):
    birthday_campaign(world_a.tenant)
    for i in range(40):
        make_contact(world_a.rep1, f"批量寿星{i}", birthday=dt.date(1990, 11, 29))
    with django_assert_max_num_queries(14):
        assert greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))["greeted"] == 40


@pytest.mark.django_db
def test_dispatcher_fans_out_one_task_per_tenant_with_campaigns(
    world_a, world_b, monkeypatch, django_capture_on_commit_callbacks
):
    birthday_campaign(world_a.tenant)
    CareCampaign.objects.create(tenant=world_b.tenant, name="停用的", kind="holiday", is_active=False)
    sent = []
    monkeypatch.setattr(tasks.send_tenant_care_greetings, "apply_async", lambda args, **options: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after commit
        assert tasks.send_care_greetings() == 1
    assert sent == [world_a.tenant.pk]


def test_beat_runs_the_greetings_hourly():
    entry = app.conf.beat_schedule["marketing-send-care-greetings"]
    assert entry["task"] == "marketing.tasks.send_care_greetings"
    assert entry["schedule"] == crontab(minute=3)
    assert "marketing.tasks.send_tenant_care_greetings" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_greet_each_contact_once():
    world = build_world("C")
    birthday_campaign(world.tenant)
    rounds, workers = 5, 4
    for round_ in range(rounds):
        day = dt.date(2026, 11, 1 + round_)
        for i in range(6):
            make_contact(world.rep1, f"第{round_}轮寿星{i}", birthday=day.replace(year=1990))
        barrier = threading.Barrier(workers)
        results, errors = [], []

        def run(day=day):
            try:
                barrier.wait()
                results.append(greetings_run(tenant_id=world.tenant.pk, now=at_shanghai(day.year, day.month, day.day)))
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
        assert sum(r["greeted"] for r in results) == 6, results
    total = rounds * 6
    assert Greeting.objects.count() == total
    assert Coupon.objects.count() == total and Coupon.objects.values("code").distinct().count() == total
    assert OutboundMessage.objects.filter(key__startswith="greeting:").count() == total


@pytest.mark.django_db(transaction=True)
def test_greetings_through_a_real_worker_are_sent_once(celery_worker):
    from crm.workcalendar.selectors import local_today

    world_a = build_world("GA")
    world_b = build_world("GB")
    for world in (world_a, world_b):
        birthday_campaign(world.tenant, send_hour=0)
    today = local_today(world_a.tenant)
    born = today.replace(year=1990) if (today.month, today.day) != (2, 29) else dt.date(1992, 2, 29)
    make_contact(world_a.rep1, "真实工作进程的寿星", birthday=born)
    make_contact(world_b.rep2, "另一家公司的寿星", birthday=born)
    make_contact(world_b.rep2, "不是今天", birthday=born + dt.timedelta(days=1))

    # What beat does hourly: the dispatcher, which fans out per tenant on the worker; then twice more, and the
    # tenant task itself twice in a row.
    tasks.send_care_greetings.delay()
    assert wait_for(lambda: OutboundMessage.objects.filter(status="sent").count() == 2), "greetings not delivered"
    tasks.send_care_greetings.delay()
    tasks.send_care_greetings.delay()
    tasks.send_tenant_care_greetings.delay(world_a.tenant.pk)
    tasks.send_tenant_care_greetings.delay(world_a.tenant.pk)
    assert worker_settled()
    assert len(mail.outbox) == 2
    assert Greeting.objects.count() == 2 and Coupon.objects.count() == 2
    assert sorted(Contact.objects.filter(greetings__isnull=False).values_list("name", flat=True)) == [
        "另一家公司的寿星",
        "真实工作进程的寿星",
    ]
