"""send_due_reminders: each due reminder yields exactly one in-app notification and one email, with two workers
at once and however often the job runs; per-tenant fan-out; and the whole path through a real Celery worker."""

import threading
from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.celery import app
from crm.models import Notification, OutboundMessage
from crm.services.notification import message_deliver
from sales import tasks
from sales.models import Task
from sales.services.reminder import reminders_send_due, tenants_with_due_reminders
from sales.services.task import task_update

from ..conftest import build_world, wait_for, worker_settled
from .helpers import later, make_customer, make_task


@pytest.fixture
def deliver_now(monkeypatch):
    """Deliver the after-commit email at once instead of through the broker (the worker test covers the broker)."""
    # The outbox sends its calls with apply_async (crm.services.outbox).
    monkeypatch.setattr(
        "crm.tasks.deliver_message.apply_async", lambda args, **options: message_deliver(message_id=args[1])
    )
    # The job queues its emails in bulk, one delivery task per batch.
    monkeypatch.setattr(
        "crm.tasks.deliver_messages.apply_async",
        lambda args, **options: [message_deliver(message_id=pk) for pk in args[1]],
    )


def due_task(user, title="回访提醒", minutes_ago=1, **kw):
    remind = timezone.now() - timedelta(minutes=minutes_ago)
    return make_task(user, title, due=remind + timedelta(minutes=30), remind=remind, **kw)


@pytest.mark.django_db
def test_a_due_reminder_gives_one_notification_and_one_email(world_a, django_capture_on_commit_callbacks, deliver_now):
    customer = make_customer(world_a.rep1, "提醒里的客户")
    task = due_task(world_a.rep1, "给张总回电话", customer=customer, notes="带上报价单")
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_send_due(tenant_id=world_a.tenant.pk) == 1
    note = Notification.objects.get(recipient=world_a.rep1)
    assert "给张总回电话" in note.title and "提醒里的客户" in note.body and "带上报价单" in note.body
    assert note.key == f"reminder:{task.pk}:{task.remind_at.isoformat()}"
    assert note.url == f"/tasks/{task.pk}/"
    message = OutboundMessage.objects.get(recipient=world_a.rep1)
    assert message.status == "sent" and message.to_address == world_a.rep1.email
    assert [m.subject for m in mail.outbox] == [note.title]
    task.refresh_from_db()
    assert task.reminder_sent_at is not None


@pytest.mark.django_db
def test_reminder_is_written_in_the_assignees_language(world_a):
    world_a.rep1.language = "en"
    world_a.rep1.save()
    world_a.rep2.language = "zh-hans"
    world_a.rep2.save()
    due_task(world_a.rep1, "Call back")
    due_task(world_a.rep2, "回电话")
    reminders_send_due(tenant_id=world_a.tenant.pk)
    english = Notification.objects.get(recipient=world_a.rep1)
    chinese = Notification.objects.get(recipient=world_a.rep2)
    assert english.title == "Reminder: Call back" and english.body.startswith("Due ")
    # The due time is formatted the Chinese way for the Chinese-speaking rep (the catalog translates the words).
    assert "年" in chinese.body and "年" not in english.body


@pytest.mark.django_db
def test_running_again_sends_nothing_more(world_a, django_capture_on_commit_callbacks, deliver_now):
    due_task(world_a.rep1)
    due_task(world_a.rep2)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_send_due(tenant_id=world_a.tenant.pk) == 2
        for _ in range(3):
            assert reminders_send_due(tenant_id=world_a.tenant.pk) == 0
    assert Notification.objects.count() == 2 and OutboundMessage.objects.count() == 2 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_future_done_and_unreminded_tasks_are_left_alone(world_a, world_b):
    make_task(world_a.rep1, "未来的提醒", due=later(hours=2), remind=later(hours=1))
    make_task(world_a.rep1, "没有提醒", due=later(minutes=-5))
    due_task(world_a.rep1, "已完成", done_at=timezone.now(), done_by=world_a.rep1)
    due_task(world_b.rep1, "别家的提醒")
    assert reminders_send_due(tenant_id=world_a.tenant.pk) == 0
    assert not Notification.objects.filter(tenant=world_a.tenant).exists()
    # Inactive tenants are skipped entirely.
    world_b.tenant.is_active = False
    world_b.tenant.save()
    assert reminders_send_due(tenant_id=world_b.tenant.pk) == 0
    assert tenants_with_due_reminders() == []


@pytest.mark.django_db
def test_a_new_reminder_time_gives_a_new_reminder(world_a):
    task = due_task(world_a.rep1, minutes_ago=30)
    reminders_send_due(tenant_id=world_a.tenant.pk)
    task_update(
        acting_user=world_a.rep1,
        task=task,
        title=task.title,
        due_at=later(hours=2),
        remind_at=timezone.now(),
        assignee=world_a.rep1,
        customer=None,
    )
    assert reminders_send_due(tenant_id=world_a.tenant.pk) == 1
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 2


@pytest.mark.django_db
def test_dispatcher_fans_out_one_task_per_tenant(world_a, world_b, monkeypatch, django_capture_on_commit_callbacks):
    due_task(world_a.rep1)
    due_task(world_a.rep2)
    due_task(world_b.rep1)
    make_task(world_b.rep2, due=later(hours=2), remind=later(hours=1))
    sent = []
    monkeypatch.setattr(tasks.send_tenant_reminders, "apply_async", lambda args, **options: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_reminders() == 2
    assert sorted(sent) == sorted([world_a.tenant.pk, world_b.tenant.pk])


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_for_1_or_200_due(world_a):
    """Set-based: the claim, the read of the claimed tasks and notify_many's few statements, per batch."""
    due_task(world_a.rep1, "一条")
    with CaptureQueriesContext(connection) as one:
        assert reminders_send_due(tenant_id=world_a.tenant.pk) == 1
    customer = make_customer(world_a.rep2, "很多提醒的客户")
    Task.objects.bulk_create(
        Task(
            tenant_id=world_a.tenant.pk,
            title=f"提醒{i}",
            assignee=(world_a.rep1, world_a.rep2, world_a.manager)[i % 3],
            customer=customer if i % 2 else None,
            due_at=later(hours=1),
            remind_at=timezone.now() - timedelta(minutes=1),
        )
        for i in range(200)
    )
    with CaptureQueriesContext(connection) as many:
        assert reminders_send_due(tenant_id=world_a.tenant.pk) == 200
    # One due is one short batch; 200 due are two full batches of 100 and an empty claim. A full batch has one more
    # outbox row than a batch of one, as emails are delivered in tasks of DELIVERY_BATCH (50).
    one, many = statements(one), statements(many)
    assert len(one) <= 6, one
    assert len(many) <= 2 * (len(one) + 1) + 1, many
    assert Notification.objects.filter(key__startswith="reminder:").count() == 201
    assert OutboundMessage.objects.filter(key__startswith="notification:").count() == 201


def statements(captured) -> list[str]:
    """The statements that do work (not the savepoints around each batch), without the tenant context's prefix."""
    sqls = [q["sql"].split("true); ", 1)[-1] for q in captured.captured_queries]
    return [sql[:60] for sql in sqls if "SAVEPOINT" not in sql]


def test_beat_runs_the_job_every_minute():
    entry = app.conf.beat_schedule["sales-send-due-reminders"]
    assert entry["task"] == "sales.tasks.send_due_reminders"
    assert entry["schedule"] == crontab()
    assert "sales.tasks.send_due_reminders" in app.tasks and "sales.tasks.send_tenant_reminders" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once():
    world = build_world("R")
    users = [world.rep1, world.rep2, world.manager]
    rounds, workers = 8, 4
    for round_ in range(rounds):
        for i, user in enumerate(users * 2):
            due_task(user, f"第{round_}轮提醒{i}")
        barrier = threading.Barrier(workers)
        results, errors = [], []

        def run():
            try:
                barrier.wait()
                results.append(reminders_send_due(tenant_id=world.tenant.pk))
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
        assert sum(results) == len(users) * 2, results
    total = rounds * len(users) * 2
    assert Task.objects.filter(reminder_sent_at__isnull=False).count() == total
    assert Notification.objects.filter(key__startswith="reminder:").count() == total
    assert OutboundMessage.objects.count() == total
    assert OutboundMessage.objects.values("key").distinct().count() == total


@pytest.mark.django_db(transaction=True)
def test_reminders_through_a_real_worker(celery_worker):
    world_a = build_world("WA")
    world_b = build_world("WB")
    a = due_task(world_a.rep1, "真实工作进程的提醒")
    b = due_task(world_b.rep2, "另一家公司的提醒")
    future = make_task(world_a.rep2, "还没到", due=later(hours=2), remind=later(hours=1))

    # What beat does every minute: the dispatcher, which fans out per tenant on the worker.
    tasks.send_due_reminders.delay()
    assert wait_for(lambda: OutboundMessage.objects.filter(status="sent").count() == 2), "reminders not delivered"
    assert sorted(m.subject for m in mail.outbox) == sorted(
        Notification.objects.filter(key__startswith="reminder:").values_list("title", flat=True)
    )
    assert {n.recipient_id for n in Notification.objects.all()} == {world_a.rep1.pk, world_b.rep2.pk}

    # However often it runs again, nothing more is sent.
    for _ in range(3):
        tasks.send_due_reminders.delay()
    tasks.send_tenant_reminders.delay(world_a.tenant.pk)
    assert worker_settled()
    assert len(mail.outbox) == 2
    assert Notification.objects.count() == 2 and OutboundMessage.objects.count() == 2
    for task in (a, b):
        task.refresh_from_db()
        assert task.reminder_sent_at is not None
    future.refresh_from_db()
    assert future.reminder_sent_at is None
