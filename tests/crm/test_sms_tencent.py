"""The Tencent Cloud SMS adapter against a local stand-in for sms.tencentcloudapi.com that checks the TC3-HMAC-SHA256
signature and answers with Tencent's codes."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from crm.models import OutboundMessage
from crm.services.notification import message_deliver, message_queue

SECRET_ID, SECRET_KEY = "AKIDtest", "tencent-secret"

ANSWERS = {
    "+8610000000000": "InvalidParameterValue.IncorrectPhoneNumber",
    "+8613900000000": "LimitExceeded.PhoneNumberThirtySecondLimit",
}


def expected_authorization(headers, body: bytes) -> str:
    """Written from Tencent's documentation, apart from the adapter."""
    timestamp = int(headers["X-TC-Timestamp"])
    day = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical_headers = f"content-type:{headers['Content-Type']}\nhost:{headers['Host']}\n"
    canonical = f"POST\n/\n\n{canonical_headers}\ncontent-type;host\n{hashlib.sha256(body).hexdigest()}"
    scope = f"{day}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = sign(sign(sign(("TC3" + SECRET_KEY).encode(), day), "sms"), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class TencentStub:
    def __init__(self):
        self.received = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                stub.received.append((self.headers, request))
                if self.headers["Authorization"] != expected_authorization(self.headers, body):
                    error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}
                    answer = {"Response": {"Error": error, "RequestId": "r"}}
                else:
                    number = request["PhoneNumberSet"][0]
                    code = ANSWERS.get(number, "Ok")
                    sent = {"Code": code, "Message": "send success" if code == "Ok" else "no", "PhoneNumber": number}
                    answer = {"Response": {"SendStatusSet": [sent], "RequestId": "r"}}
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

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def tencent():
    stub = TencentStub()
    with override_settings(
        SMS_BACKEND="crm.services.notification.TencentSmsBackend",
        SMS_TENCENT_SECRET_ID=SECRET_ID,
        SMS_TENCENT_SECRET_KEY=SECRET_KEY,
        SMS_TENCENT_SDK_APP_ID="1400000000",
        SMS_TENCENT_SIGN_NAME="示例公司",
        SMS_TENCENT_TEMPLATE_ID="123456",
        SMS_TENCENT_REGION="ap-guangzhou",
        SMS_TENCENT_ENDPOINT=stub.base,
    ):
        yield stub
    stub.close()


def deliver(world, to: str) -> OutboundMessage:
    message = message_queue(
        tenant_id=world.tenant.pk,
        channel=OutboundMessage.Channel.SMS,
        to_address=to,
        body="中秋快乐！退订回T",
        key=f"sms-test:{to}",
    )
    return message_deliver(message_id=message.pk)


@pytest.mark.django_db
def test_an_sms_is_signed_and_sent_with_the_template(world_a, tencent):
    delivered = deliver(world_a, "+8613800138000")
    assert delivered.status == OutboundMessage.Status.SENT
    ((headers, request),) = tencent.received
    assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"
    assert request == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": "1400000000",
        "SignName": "示例公司",
        "TemplateId": "123456",
        "TemplateParamSet": ["中秋快乐！退订回T"],
    }


@pytest.mark.django_db
def test_a_wrong_number_fails_at_once_and_flow_control_is_retried(world_a, tencent):
    wrong = deliver(world_a, "+8610000000000")
    assert wrong.status == OutboundMessage.Status.FAILED and wrong.attempts == 1
    assert wrong.last_error.startswith("InvalidParameterValue.IncorrectPhoneNumber")
    limited = deliver(world_a, "+8613900000000")
    assert limited.status == OutboundMessage.Status.QUEUED
    assert limited.last_error.startswith("LimitExceeded.PhoneNumberThirtySecondLimit")


@pytest.mark.django_db
def test_a_wrong_secret_fails_the_signature_check(world_a, tencent):
    with override_settings(SMS_TENCENT_SECRET_KEY="not-it"):
        delivered = deliver(world_a, "+8613800138000")
    assert delivered.status == OutboundMessage.Status.FAILED
    assert delivered.last_error.startswith("AuthFailure.SignatureFailure")
