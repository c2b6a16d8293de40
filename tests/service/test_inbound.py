"""Email into the service desk: the pipe command and the provider endpoint open tickets, match senders to contacts
without duplicates, thread replies onto their ticket, and ignore auto-replies, loops and floods."""

import io
import sys

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.test import Client, override_settings

from crm.services.notification import message_deliver
from customers.models import Contact, Customer
from service.models import ServiceSettings, Status, Ticket, TicketMessage
from service.services.dispatch import service_settings
from service.services.inbound import InboundMail, inbound_receive, parse_message
from service.services.ticket import ticket_reply

from .helpers import make_customer

MESSAGE = """From: =?utf-8?b?5p2O5aic?= <li.na@yunfan.example>
To: support@demo.example
Subject: =?utf-8?b?5omT5Y2w5py65peg5rOV6L+e5o6l?=
Message-ID: <abc-1@mail.yunfan.example>
Content-Type: text/plain; charset=utf-8

办公室的打印机从昨天起连不上网络。
"""


def raw(text: str) -> bytes:
    return text.encode("utf-8")


@pytest.fixture
def redis_clean(redis_test_db):
    return redis_test_db


@pytest.mark.django_db
def test_the_pipe_command_opens_a_ticket_for_a_known_contact(world_a, redis_clean, monkeypatch):
    customer, contact = make_customer(world_a.rep1)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw(MESSAGE))))
    out = io.StringIO()
    call_command("receive_email", "--company", world_a.tenant.slug, stdout=out)
    ticket = Ticket.objects.get()
    assert out.getvalue().strip() == "T-000001"
    assert (ticket.customer, ticket.contact, ticket.channel, ticket.subject) == (
        customer,
        contact,
        "email",
        "打印机无法连接",
    )
    assert TicketMessage.objects.get().body.startswith("办公室的打印机")
    # Delivered twice (the mail server retried): still one ticket.
    assert inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(MESSAGE))) == ticket
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1


@pytest.mark.django_db
def test_unknown_senders_get_one_customer_per_domain_and_webmail_goes_to_unknown_senders(world_a, redis_clean):
    for i, sender in enumerate(["wang@haitian.example", "zhao@haitian.example", "wang@haitian.example"]):
        mail = InboundMail(
            from_email=sender, from_name="王先生", subject=f"问题{i}", body="请回电", message_id=f"<m{i}@x>"
        )
        inbound_receive(tenant=world_a.tenant, mail=mail)
    haitian = Customer.objects.get(tenant=world_a.tenant, name="haitian.example")
    assert haitian.owner is None and Contact.objects.filter(customer=haitian).count() == 2
    for i, sender in enumerate(["a123@qq.com", "b456@163.com"]):
        inbound_receive(
            tenant=world_a.tenant, mail=InboundMail(from_email=sender, subject="hi", message_id=f"<w{i}@x>")
        )
    unknown = Customer.objects.filter(tenant=world_a.tenant, name__in=["Unknown senders", "未知发件人"])
    assert unknown.count() == 1 and Contact.objects.filter(customer=unknown.get()).count() == 2


@pytest.mark.django_db
def test_a_reply_joins_its_ticket_by_token_or_references_and_reopens_it(
    world_a, redis_clean, django_capture_on_commit_callbacks
):
    customer, contact = make_customer(world_a.rep1)
    ticket = inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(MESSAGE)))
    with django_capture_on_commit_callbacks(execute=False):
        reply = ticket_reply(
            acting_user=world_a.agent, ticket=ticket, body="请重启路由器。", public=True, status=Status.RESOLVED
        )
    by_reference = InboundMail(
        from_email="li.na@yunfan.example",
        subject="Re: [T-000001] 打印机无法连接",
        body="重启后还是不行",
        message_id="<abc-2@mail.yunfan.example>",
        in_reply_to=reply.message_id,
    )
    assert inbound_receive(tenant=world_a.tenant, mail=by_reference) == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    by_token = InboundMail(
        from_email="li.na@yunfan.example",
        to=[f"support+{ticket.reply_token}@demo.example"],
        subject="补充",
        body="附上型号 HP M1136",
        message_id="<abc-3@mail.yunfan.example>",
    )
    assert inbound_receive(tenant=world_a.tenant, mail=by_token) == ticket
    assert Ticket.objects.count() == 1
    assert TicketMessage.objects.filter(ticket=ticket, kind="customer").count() == 3


@pytest.mark.django_db
@override_settings(SERVICE_INBOUND_PER_SENDER=3)
def test_auto_replies_loops_and_floods_are_ignored(world_a, redis_clean):
    make_customer(world_a.rep1)
    auto = MESSAGE.replace("Message-ID:", "Auto-Submitted: auto-replied\nMessage-ID:")
    assert inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(auto))) is None
    bulk = MESSAGE.replace("Message-ID:", "Precedence: bulk\nMessage-ID:")
    assert inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(bulk))) is None
    daemon = InboundMail(from_email="MAILER-DAEMON@mx.example", subject="Undelivered", message_id="<d@x>")
    assert inbound_receive(tenant=world_a.tenant, mail=daemon) is None
    assert not Ticket.objects.exists()
    for i in range(5):
        inbound_receive(
            tenant=world_a.tenant,
            mail=InboundMail(from_email="li.na@yunfan.example", subject=f"第{i}封", message_id=f"<f{i}@x>"),
        )
    assert Ticket.objects.count() == 3


@pytest.mark.django_db
def test_the_provider_endpoint_needs_the_company_secret(world_a, world_b, redis_clean):
    make_customer(world_a.rep1)
    secret = service_settings(world_a.tenant.pk).inbound_secret
    url = f"/inbound/email/{world_a.tenant.slug}/"
    fields = {"from": "li.na@yunfan.example", "subject": "发票问题", "text": "请重开发票", "message_id": "<p1@x>"}
    client = Client()
    assert client.post(url, fields).status_code == 403
    other = service_settings(world_b.tenant.pk).inbound_secret
    assert client.post(url, fields, HTTP_X_INBOUND_SECRET=other).status_code == 403
    assert client.get(url, HTTP_X_INBOUND_SECRET=secret).status_code == 405
    assert client.post("/inbound/email/nobody/", fields, HTTP_X_INBOUND_SECRET=secret).status_code == 404
    response = client.post(url, fields, HTTP_X_INBOUND_SECRET=secret)
    assert response.status_code == 200 and response.json() == {"status": "filed", "ticket": "T-000001"}
    assert client.post(url, {"email": MESSAGE}, HTTP_X_INBOUND_SECRET=secret).json()["ticket"] == "T-000002"
    assert client.post(url, {"subject": "x"}, HTTP_X_INBOUND_SECRET=secret).status_code == 400
    assert ServiceSettings.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
@override_settings(SERVICE_REPLY_ADDRESS="support@demo.example")
def test_replies_carry_threading_headers_and_the_customers_answer_to_them_joins_the_ticket(
    world_a, redis_clean, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(
        "crm.tasks.deliver_message.apply_async", lambda args, **options: message_deliver(message_id=args[1])
    )
    make_customer(world_a.rep1)
    ticket = inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(MESSAGE)))
    with django_capture_on_commit_callbacks(execute=True):
        first = ticket_reply(acting_user=world_a.agent, ticket=ticket, body="请重启路由器。", public=True)
        ticket_reply(acting_user=world_a.agent, ticket=ticket, body="内部备注", public=False)
        second = ticket_reply(acting_user=world_a.agent, ticket=ticket, body="还有问题吗？", public=True)
    sent = [m.message() for m in mail.outbox]
    assert len(sent) == 2
    assert sent[0]["Message-ID"] == first.message_id
    assert sent[0]["In-Reply-To"] == "<abc-1@mail.yunfan.example>"
    assert sent[0]["References"] == "<abc-1@mail.yunfan.example>"
    assert sent[0]["Reply-To"] == f"support+{ticket.reply_token}@demo.example"
    assert sent[1]["Message-ID"] == second.message_id
    assert sent[1]["In-Reply-To"] == first.message_id
    assert sent[1]["References"] == f"<abc-1@mail.yunfan.example> {first.message_id}"
    # The customer's mail client answers the second reply: it quotes its headers and the thread continues.
    answer = (
        "From: li.na@yunfan.example\nTo: support@demo.example\nSubject: Re: [T-000001]\n"
        f"Message-ID: <abc-9@mail.yunfan.example>\nIn-Reply-To: {sent[1]['Message-ID']}\n"
        f"References: {sent[1]['References']} {sent[1]['Message-ID']}\n"
        "Content-Type: text/plain; charset=utf-8\n\n好了，谢谢\n"
    )
    assert inbound_receive(tenant=world_a.tenant, mail=parse_message(raw(answer))) == ticket
    assert Ticket.objects.count() == 1
    assert TicketMessage.objects.filter(ticket=ticket, kind="customer").count() == 2


def raw_with_pdf(size: int) -> str:
    """A raw email carrying a PDF of about `size` bytes (base64 in the message)."""
    message = EmailMessage("大附件", "合同扫描件见附件。", "li.na@yunfan.example", ["support@demo.example"])
    message.attach("合同.pdf", b"%PDF-1.4\n" + b"0" * size, "application/pdf")
    return message.message().as_string()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_a_raw_email_bigger_than_djangos_form_limit_is_filed_with_its_attachment(world_a, redis_clean, media, settings):
    settings.SERVICE_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    make_customer(world_a.rep1)
    secret = service_settings(world_a.tenant.pk).inbound_secret
    url = f"/inbound/email/{world_a.tenant.slug}/"
    email = raw_with_pdf(4 * 1024 * 1024)
    assert len(email) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = Client().post(url, {"email": email}, HTTP_X_INBOUND_SECRET=secret)
    assert response.status_code == 200 and response.json() == {"status": "filed", "ticket": "T-000001"}
    ticket = Ticket.objects.get(tenant=world_a.tenant)
    assert [(a.name, a.size) for a in ticket.attachments.all()] == [("合同.pdf", 9 + 4 * 1024 * 1024)]
    # The raw message as the body itself, and parsed fields with a file named in Chinese.
    response = Client().post(
        url, raw_with_pdf(1000).encode(), content_type="message/rfc822", HTTP_X_INBOUND_SECRET=secret
    )
    assert response.json()["status"] == "filed"
    fields = {"from": "li.na@yunfan.example", "subject": "发票", "text": "见附件", "file1": None}
    fields["file1"] = SimpleUploadedFile("发票.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = Client().post(url, fields, HTTP_X_INBOUND_SECRET=secret)
    filed = Ticket.objects.get(tenant=world_a.tenant, number=3)
    assert filed.subject == "发票" and [a.name for a in filed.attachments.all()] == ["发票.pdf"]
    # Other requests keep Django's limit.
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2621440


@pytest.mark.django_db
def test_a_raw_email_over_the_endpoints_limit_is_413_and_files_nothing(world_a, redis_clean, media, settings):
    settings.SERVICE_INBOUND_MAX_BYTES = 1024 * 1024
    make_customer(world_a.rep1)
    secret = service_settings(world_a.tenant.pk).inbound_secret
    url = f"/inbound/email/{world_a.tenant.slug}/"
    response = Client().post(url, {"email": raw_with_pdf(1024 * 1024)}, HTTP_X_INBOUND_SECRET=secret)
    assert response.status_code == 413
    assert response.json() == {
        "error": "message too large",
        "message": "The email is larger than 1 MB, the most this desk takes.",
    }
    assert not Ticket.objects.filter(tenant=world_a.tenant).exists()
    # Without the secret, the size is not even looked at.
    assert Client().post(url, {"email": raw_with_pdf(1024 * 1024)}).status_code == 403
