import pytest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.models import Notification, OutboundMessage
from crm.services.notification import lazy_format, notify

from ..factories import NotificationFactory


@pytest.mark.django_db
def test_notify_writes_notification_and_email_once_per_key(world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        n1 = notify(recipient=world_a.rep1, title="明天回访", body="客户张三", url="/", key="reminder:1")
        n2 = notify(recipient=world_a.rep1, title="明天回访", body="客户张三", url="/", key="reminder:1")
    assert n1.pk == n2.pk
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 1
    assert OutboundMessage.objects.filter(recipient=world_a.rep1).count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_notify_renders_in_the_recipients_language(world_a):
    world_a.rep1.language = "zh-hans"
    world_a.rep1.save()
    world_a.rep2.language = "en"
    world_a.rep2.save()
    notify(recipient=world_a.rep1, title=_("Notifications"), email=False)
    notify(recipient=world_a.rep2, title=_("Notifications"), email=False)
    assert Notification.objects.get(recipient=world_a.rep2).title == "Notifications"
    assert Notification.objects.get(recipient=world_a.rep1).title == "通知"


@pytest.mark.django_db
def test_bell_list_and_mark_read(world_a, client_for):
    mine = NotificationFactory(recipient=world_a.rep1, title="我的通知")
    NotificationFactory(recipient=world_a.rep2, title="别人的通知")
    c = client_for(world_a.rep1)
    r = c.get(reverse("notification_bell"))
    assert "我的通知" in r.content.decode() and "别人的通知" not in r.content.decode()
    assert r.context["unread_count"] == 1
    r = c.post(reverse("notification_read", args=[mine.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<html" not in r.content.decode()
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert c.get(reverse("notification_bell")).context["unread_count"] == 0


@pytest.mark.django_db
def test_cannot_read_someone_elses_notification(world_a, client_for):
    theirs = NotificationFactory(recipient=world_a.rep2)
    r = client_for(world_a.rep1).post(reverse("notification_read", args=[theirs.pk]))
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
def test_mark_all_read_only_touches_mine(world_a, client_for):
    NotificationFactory.create_batch(3, recipient=world_a.rep1)
    other = NotificationFactory(recipient=world_a.rep2)
    client_for(world_a.rep1).post(reverse("notification_read_all"))
    assert not Notification.objects.filter(recipient=world_a.rep1, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


@pytest.mark.django_db
def test_notification_list_query_count_is_bounded(world_a, client_for, django_assert_max_num_queries):
    NotificationFactory.create_batch(80, recipient=world_a.rep1)
    c = client_for(world_a.rep1)
    with django_assert_max_num_queries(10):
        r = c.get(reverse("notifications"))
    assert len(r.context["page"]) == 50


@pytest.mark.django_db
def test_lazy_format_renders_in_the_recipients_language_whoever_triggers_it(world_a):
    from django.utils import translation

    world_a.rep1.language = "zh-hans"
    world_a.rep1.save()
    with translation.override("en"):  # e.g. a job running in English
        notify(recipient=world_a.rep1, title=lazy_format(_("User %(name)s saved."), name="王五"), email=False)
    title = Notification.objects.get(recipient=world_a.rep1).title
    assert "王五" in title and "saved" not in title
