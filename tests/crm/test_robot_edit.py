"""Settings → Group robots → a robot's page: change its name, address, secret and notifications; send a test."""

import json
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from crm import tasks
from crm.models import AuditEvent, OutboundMessage, RobotChannel
from crm.services.notification import message_deliver

from .test_robots import RobotStub, setup, stub  # noqa: F401  (the stub fixture)


@pytest.mark.django_db
def test_edit_keeps_the_secret_unless_changed_or_removed(world_a, client_for, django_assert_max_num_queries):
    robot = setup(world_a, "dingtalk", "http://127.0.0.1/d?access_token=t", secret="SECold")
    setup(world_a, "wecom", "http://127.0.0.1/w")
    admin = client_for(world_a.admin)
    url = reverse("settings:robot_edit", args=[robot.pk])
    with django_assert_max_num_queries(12):
        page = admin.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "SECold" not in html and "127.0.0.1/d" in html
    form = {"kind": "dingtalk", "name": "销售群", "url": "http://127.0.0.1/d2", "events": ["lead_assigned"]}
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        assert admin.post(url, form).status_code == 302
        robot.refresh_from_db()
        assert (robot.name, robot.url, robot.secret) == ("销售群", "http://127.0.0.1/d2", "SECold")
        assert admin.post(url, form | {"secret": "SECnew"}).status_code == 302
        robot.refresh_from_db()
        assert robot.secret == "SECnew"
        assert admin.post(url, form | {"remove_secret": "on"}).status_code == 302
        robot.refresh_from_db()
        assert robot.secret == ""
        refused = admin.post(url, form | {"name": "改名", "events": []})
    assert refused.status_code == 422
    robot.refresh_from_db()
    assert robot.name == "销售群"
    bad_url = admin.post(url, form | {"name": "改名", "url": "http://10.0.0.1/x"})
    assert bad_url.status_code == 422
    robot.refresh_from_db()
    assert robot.name == "销售群" and robot.url == "http://127.0.0.1/d2"


@pytest.mark.django_db
def test_robot_pages_are_for_the_company_admins(world_a, world_b, client_for):
    theirs = setup(world_b, "wecom", "http://127.0.0.1/b")
    mine = setup(world_a, "wecom", "http://127.0.0.1/a")
    admin = client_for(world_a.admin)
    assert admin.get(reverse("settings:robot_edit", args=[theirs.pk])).status_code == 404
    assert admin.post(reverse("settings:robot_test", args=[theirs.pk])).status_code == 404
    assert client_for(world_a.manager).get(reverse("settings:robot_edit", args=[mine.pk])).status_code == 403
    assert client_for(world_a.manager).post(reverse("settings:robot_test", args=[mine.pk])).status_code == 403
    assert not OutboundMessage.objects.filter(channel="robot").exists()
    assert reverse("settings:robot_edit", args=[mine.pk]) in admin.get(reverse("settings:robots")).content.decode()


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_test_send_posts_to_the_group(world_a, client_for, stub, django_capture_on_commit_callbacks):  # noqa: F811
    robot = setup(world_a, "feishu", stub.base + "/feishu", secret=RobotStub.SECRET)
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    admin = client_for(world_a.admin)
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(reverse("settings:robot_test", args=[robot.pk]), follow=True)
    assert response.status_code == 200
    message = OutboundMessage.objects.get(channel="robot", to_address=f"robot:{robot.pk}")
    assert message_deliver(message_id=message.pk).status == OutboundMessage.Status.SENT
    [(_path, body, ok)] = stub.received
    assert ok and robot.name in body["content"]["text"]
    RobotChannel.objects.filter(pk=robot.pk).update(is_active=False)
    refused = admin.post(reverse("settings:robot_test", args=[robot.pk]), follow=True)
    assert "Switch the robot on" in refused.content.decode()
    assert OutboundMessage.objects.filter(channel="robot").count() == 1


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_test_send_is_audited_without_secrets(world_a, client_for, stub, django_capture_on_commit_callbacks):  # noqa: F811
    robot = setup(world_a, "dingtalk", stub.base + "/dingtalk?access_token=tok-123", secret=RobotStub.SECRET)
    admin = client_for(world_a.admin)
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            admin.post(reverse("settings:robot_test", args=[robot.pk]))
    sent = AuditEvent.objects.get(action="robot.test")
    message = OutboundMessage.objects.get(channel="robot", to_address=f"robot:{robot.pk}")
    assert (sent.actor, sent.object_id, sent.details["result"], sent.details["message"]) == (
        world_a.admin,
        str(robot.pk),
        "queued",
        message.pk,
    )
    assert message_deliver(message_id=message.pk).status == OutboundMessage.Status.SENT
    delivered = AuditEvent.objects.get(action="robot.test.sent")
    assert delivered.object_id == str(robot.pk) and delivered.details["message"] == message.pk

    # A robot that refuses: the failure and its answer are audited, its address and secret are not.
    RobotChannel.objects.filter(pk=robot.pk).update(url=stub.base + "/nowhere?access_token=tok-123")
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            admin.post(reverse("settings:robot_test", args=[robot.pk]))
    failing = OutboundMessage.objects.filter(channel="robot").latest("pk")
    message_deliver(message_id=failing.pk)
    failed = AuditEvent.objects.get(action="robot.test.failed")
    assert failed.details["result"] in ("retrying", "failed") and failed.details["message"] == failing.pk

    RobotChannel.objects.filter(pk=robot.pk).update(is_active=False)
    admin.post(reverse("settings:robot_test", args=[robot.pk]))
    refused = AuditEvent.objects.get(action="robot.test.refused")
    assert refused.actor == world_a.admin and refused.details["result"] == "refused"
    for event in AuditEvent.objects.filter(action__startswith="robot.test"):
        text = json.dumps(event.details, ensure_ascii=False) + event.object_repr
        assert "tok-123" not in text and RobotStub.SECRET not in text and "127.0.0.1" not in text
