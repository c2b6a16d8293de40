import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from django.urls import reverse

from crm import tasks
from crm.errors import DomainError
from crm.models import OutboundMessage, RobotChannel
from crm.services.notification import message_deliver, notify, robot_channel_save


class RobotStub:
    """A local stand-in for the WeCom, DingTalk and Feishu robot endpoints that checks their signing."""

    SECRET = "SECabc123"

    def __init__(self):
        self.received = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                query = parse_qs(urlsplit(self.path).query)
                ok = stub.check(self.path.split("?")[0], query, body)
                stub.received.append((self.path, body, ok))
                answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
                if self.path.startswith("/feishu"):
                    answer = {"code": 0, "msg": "success"} if ok else {"code": 19021, "msg": "sign match fail"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def check(self, path, query, body):
        if path == "/dingtalk":
            timestamp, sign = query["timestamp"][0], query["sign"][0]
            expected = hmac.new(self.SECRET.encode(), f"{timestamp}\n{self.SECRET}".encode(), hashlib.sha256)
            return sign == base64.b64encode(expected.digest()).decode() and body["msgtype"] == "text"
        if path == "/feishu":
            key = f"{body['timestamp']}\n{self.SECRET}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            return body["sign"] == expected and body["msg_type"] == "text"
        return body["msgtype"] == "text" and "key" in query

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def stub():
    s = RobotStub()
    yield s
    s.close()


def setup(world, kind, url, secret="", team=None, events=("lead_assigned",)):
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        return robot_channel_save(
            acting_user=world.admin, kind=kind, name=kind, url=url, secret=secret, team=team, events=list(events)
        )


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
@pytest.mark.parametrize(
    "kind,path,secret",
    [
        ("wecom", "/wecom?key=abc", ""),
        ("dingtalk", "/dingtalk?access_token=t", RobotStub.SECRET),
        ("feishu", "/feishu", RobotStub.SECRET),
    ],
)
def test_each_robot_is_signed_and_posted(world_a, stub, django_capture_on_commit_callbacks, kind, path, secret):
    setup(world_a, kind, stub.base + path, secret, team=world_a.team1)
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            notify(
                recipient=world_a.rep1, title="新线索：张伟", body="来自官网", email=False, robot_event="lead_assigned"
            )
            notify(recipient=world_a.rep2, title="别组的线索", email=False, robot_event="lead_assigned")  # other team
            notify(recipient=world_a.rep1, title="不推送", email=False)
    message = OutboundMessage.objects.get(channel=OutboundMessage.Channel.ROBOT)
    assert message_deliver(message_id=message.pk).status == OutboundMessage.Status.SENT
    assert len(stub.received) == 1
    _path, body, ok = stub.received[0]
    assert ok
    text = body["content"]["text"] if kind == "feishu" else body["text"]["content"]
    assert text.startswith("新线索：张伟\n来自官网")


@pytest.mark.django_db
@override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
def test_a_refused_post_is_retried(world_a, stub):
    setup(world_a, "dingtalk", stub.base + "/dingtalk?access_token=t", "wrong-secret")
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        notify(recipient=world_a.rep1, title="x", email=False, robot_event="lead_assigned")
    message = OutboundMessage.objects.get(channel=OutboundMessage.Channel.ROBOT)
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.QUEUED and "sign not match" in delivered.last_error


@pytest.mark.django_db
def test_setup_is_checked(world_a, world_b):
    with pytest.raises(DomainError) as refused:
        robot_channel_save(
            acting_user=world_a.admin, kind="wecom", name="x", url="http://127.0.0.1/x", events=["lead_assigned"]
        )
    assert refused.value.field == "url"
    with pytest.raises(DomainError) as refused:
        setup(world_a, "wecom", "http://127.0.0.1/x", events=["everything"])
    assert refused.value.field == "events"
    with pytest.raises(DomainError) as refused:
        setup(world_a, "wecom", "http://127.0.0.1/x", team=world_b.team1)
    assert refused.value.field == "team"
    assert not RobotChannel.objects.exists()


@pytest.mark.django_db
def test_pages(world_a, world_b, client_for):
    theirs = setup(world_b, "wecom", "http://127.0.0.1/b")
    mine = setup(world_a, "wecom", "http://127.0.0.1/a")
    assert client_for(world_a.rep1).get(reverse("settings:robots")).status_code == 403
    admin = client_for(world_a.admin)
    page = admin.get(reverse("settings:robots")).content.decode()
    assert "127.0.0.1/b" not in page
    assert admin.post(reverse("settings:robot_set_active", args=[theirs.pk])).status_code == 404
    assert client_for(world_a.manager).post(reverse("settings:robot_set_active", args=[mine.pk])).status_code == 403
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        assert admin.post(reverse("settings:robot_set_active", args=[mine.pk])).status_code == 302
        created = admin.post(
            reverse("settings:robots"),
            {"kind": "feishu", "name": "客服群", "url": "http://127.0.0.1/f", "events": ["urgent_ticket"]},
        )
    assert created.status_code == 302
    mine.refresh_from_db()
    assert not mine.is_active
    assert RobotChannel.objects.filter(tenant=world_a.tenant, kind="feishu", team__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.is_active
