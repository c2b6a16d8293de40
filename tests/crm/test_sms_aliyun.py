"""The Aliyun SMS adapter against a local stand-in for dysmsapi that checks the RPC signature (HMAC-SHA1 over the
canonicalised query) and answers with Aliyun's codes."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.test import override_settings

from crm import tasks
from crm.models import OutboundMessage
from crm.services.notification import MESSAGE_MAX_ATTEMPTS, message_deliver, message_queue

SECRET = "testsecret"

# What the stand-in answers per number (the rest: OK).
ANSWERS = {
    "10000000000": "isv.MOBILE_NUMBER_ILLEGAL",
    "13900000000": "isv.BUSINESS_LIMIT_CONTROL",
}


def expected_signature(params: dict[str, str]) -> str:
    """Written from Aliyun's documentation, apart from the adapter: encode with quote(safe='~'), sort, sign
    "GET&%2F&" + the encoded query with "<secret>&"."""

    def enc(value: str) -> str:
        return quote(value, safe="~")

    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
    to_sign = "GET&%2F&" + enc(query)
    return base64.b64encode(hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunStub:
    def __init__(self):
        self.received = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                signature = params.pop("Signature", "")
                stub.received.append(params)
                status = 200
                if signature != expected_signature(params) or params.get("SignatureMethod") != "HMAC-SHA1":
                    status, answer = (
                        400,
                        {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"},
                    )
                else:
                    code = ANSWERS.get(params["PhoneNumbers"], "OK")
                    answer = {"Code": code, "Message": "OK" if code == "OK" else "refused", "RequestId": "r1"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def aliyun():
    stub = AliyunStub()
    with override_settings(
        SMS_BACKEND="crm.services.notification.AliyunSmsBackend",
        SMS_ALIYUN_ACCESS_KEY_ID="testid",
        SMS_ALIYUN_ACCESS_KEY_SECRET=SECRET,
        SMS_ALIYUN_SIGN_NAME="示例公司",
        SMS_ALIYUN_TEMPLATE_CODE="SMS_123456",
        SMS_ALIYUN_TEMPLATE_PARAM="content",
        SMS_ALIYUN_ENDPOINT=stub.base,
    ):
        yield stub
    stub.close()


def queue_sms(world, to: str, body: str = "新年快乐！优惠码 ABC 退订回T") -> OutboundMessage:
    with mock.patch.object(tasks.deliver_message, "apply_async"):
        return message_queue(
            tenant_id=world.tenant.pk,
            channel=OutboundMessage.Channel.SMS,
            to_address=to,
            body=body,
            key=f"sms-test:{to}",
        )


@pytest.mark.django_db
def test_an_sms_is_signed_and_sent_with_the_template(world_a, aliyun):
    message = queue_sms(world_a, "+8613800138000")
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.SENT and delivered.last_error == ""
    (params,) = aliyun.received
    assert params["PhoneNumbers"] == "13800138000"
    assert params["SignName"] == "示例公司" and params["TemplateCode"] == "SMS_123456"
    assert json.loads(params["TemplateParam"]) == {"content": "新年快乐！优惠码 ABC 退订回T"}
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25" and params["AccessKeyId"] == "testid"


@pytest.mark.django_db
def test_a_wrong_number_fails_at_once_with_the_providers_code(world_a, aliyun):
    message = queue_sms(world_a, "10000000000")
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.FAILED and delivered.attempts == 1
    assert delivered.last_error.startswith("isv.MOBILE_NUMBER_ILLEGAL")


@pytest.mark.django_db
def test_flow_control_is_retried_by_the_delivery_rules(world_a, aliyun):
    message = queue_sms(world_a, "+8613900000000")
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.QUEUED
    assert delivered.last_error.startswith("isv.BUSINESS_LIMIT_CONTROL")
    assert delivered.next_attempt_at > message.next_attempt_at
    # Due again: tried until the last attempt, then failed with the provider's code.
    for _ in range(MESSAGE_MAX_ATTEMPTS - 1):
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.next_attempt_at)
        delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.FAILED and delivered.attempts == MESSAGE_MAX_ATTEMPTS
    assert delivered.last_error.startswith("isv.BUSINESS_LIMIT_CONTROL")


@pytest.mark.django_db
def test_a_wrong_secret_is_refused_by_the_signature_check(world_a, aliyun):
    message = queue_sms(world_a, "+8613800138000")
    with override_settings(SMS_ALIYUN_ACCESS_KEY_SECRET="not-the-secret"):
        delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.FAILED
    assert delivered.last_error.startswith("SignatureDoesNotMatch")


@pytest.mark.django_db
def test_an_unreachable_provider_is_retried(world_a, aliyun):
    message = queue_sms(world_a, "+8613800138000")
    with override_settings(SMS_ALIYUN_ENDPOINT="http://127.0.0.1:9"):
        delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.QUEUED and delivered.last_error
