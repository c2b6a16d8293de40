"""Files on tickets: agents attach them to replies, notes and new tickets, customers to the public form and their
emails; size, count, type, content and name are checked with a clear message and nothing saved on a refusal; the
files are stored through Django's storage and served only to those who see the ticket, as downloads."""

from email import message_from_bytes

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crm.errors import DomainError
from crm.models import OutboundAttachment, OutboundMessage
from crm.services.notification import message_deliver
from service.models import Ticket, TicketAttachment, TicketMessage
from service.services.inbound import inbound_receive, parse_message
from service.services.ticket import ticket_reply

from .helpers import make_customer, make_ticket
from .test_public_form import fields

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SERVICE_ATTACHMENT_MAX_BYTES = 1024 * 1024
    settings.SERVICE_ATTACHMENT_MAX_FILES = 3
    return settings.MEDIA_ROOT


@pytest.fixture
def desk(world_a):
    customer, contact = make_customer(world_a.rep1)
    return world_a, customer, contact


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.mark.django_db
def test_an_agents_reply_carries_files_shown_in_the_thread_and_downloaded_by_those_who_see_it(
    desk, world_b, client_for
):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    agent = client_for(world.agent)
    response = agent.post(
        f"/tickets/{ticket.pk}/reply/",
        {"kind": "note", "body": "见附件", "attachments": [upload("日志.txt", b"error 42\n"), upload("图.png", PNG)]},
    )
    assert response.status_code == 302
    files = list(TicketAttachment.objects.order_by("pk"))
    assert [(f.name, f.size, f.message.kind) for f in files] == [("日志.txt", 9, "note"), ("图.png", len(PNG), "note")]
    # Stored under a random name of the tenant's folder, never the uploader's name.
    assert files[0].file.name.startswith(f"service/{world.tenant.pk}/{ticket.pk}/") and "日志" not in files[0].file.name
    page = agent.get(f"/tickets/{ticket.pk}/").content.decode()
    assert page.count('data-testid="attachment"') == 2 and "日志.txt" in page
    download = agent.get(f"/tickets/files/{files[0].pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"error 42\n"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff" and download["Content-Type"] == "application/octet-stream"
    # The rep who owns the customer reads the ticket, and so its files; another rep and another company do not.
    assert client_for(world.rep1).get(f"/tickets/files/{files[0].pk}/").status_code == 200
    assert client_for(world.rep2).get(f"/tickets/files/{files[0].pk}/").status_code == 404
    assert client_for(world_b.admin).get(f"/tickets/files/{files[0].pk}/").status_code == 404
    assert Client().get(f"/tickets/files/{files[0].pk}/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("setup.exe", b"MZ\x90\x00", "files of this type are not accepted"),
        ("invoice.pdf", b"MZ\x90\x00this is a program", "the content is not a PDF file"),
        ("photo.png", PDF, "the content is not a PNG file"),
        ("notes.txt", b"\x7fELF\x02\x01", "the content is not a TXT file"),
        ("长" * 160 + ".txt", b"text", "this file name is not accepted"),
        (".htaccess.txt", b"Deny from all", "this file name is not accepted"),
        ("big.pdf", b"%PDF-" + b"0" * (1024 * 1024), "is larger than 1 MB"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_is_saved(desk, client_for, name, content, error):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    response = client_for(world.agent).post(
        f"/tickets/{ticket.pk}/reply/", {"kind": "reply", "body": "请查收", "attachments": [upload(name, content)]}
    )
    assert response.status_code == 422 and error in response.content.decode()
    assert not TicketMessage.objects.filter(ticket=ticket).exists() and not TicketAttachment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("files", "error"),
    [
        ([ContentFile(b"x", name=f"{i}.txt") for i in range(4)], "At most 3 files a message"),
        # The right-to-left override shows "invoice\u202efdp.exe" as "invoiceexe.pdf".
        ([ContentFile(PDF, name="invoice\u202efdp.pdf")], "this file name is not accepted"),
        ([ContentFile(b"x", name="../../etc/passwd.txt")], "this file name is not accepted"),
    ],
)
def test_the_service_checks_what_no_form_checked(desk, files, error):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    with pytest.raises(DomainError, match=error):
        ticket_reply(acting_user=world.agent, ticket=ticket, body="多个文件", public=False, files=files)
    assert not TicketMessage.objects.filter(ticket=ticket).exists() and not TicketAttachment.objects.exists()


@pytest.mark.django_db
def test_an_agent_attaches_files_when_opening_a_ticket(desk, client_for):
    world, customer, contact = desk
    agent = client_for(world.agent)
    data = {
        "customer": customer.pk,
        "contact": contact.pk,
        "subject": "合同扫描件",
        "channel": "walk_in",
        "priority": "normal",
        "attachments": [upload("合同.pdf", PDF)],
    }
    response = agent.post("/tickets/new/", data)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    attachment = TicketAttachment.objects.get()
    assert (attachment.ticket, attachment.message, attachment.content_type) == (ticket, None, "application/pdf")
    assert 'data-testid="attachment"' in agent.get(f"/tickets/{ticket.pk}/").content.decode()
    bad = agent.post("/tickets/new/", {**data, "attachments": [upload("合同.pdf", PNG)]})
    assert bad.status_code == 422 and Ticket.objects.count() == 1


@pytest.mark.django_db
def test_the_public_form_takes_files_and_refuses_bad_ones_without_creating_the_sender(world_a, redis_test_db):
    client = Client()
    client.cookies["django_language"] = "en"
    url = f"/f/{world_a.tenant.slug}/ticket/"
    bad = client.post(
        url, {**fields(world_a.tenant.pk, email="new@haitian.example"), "attachments": [upload("a.exe", b"MZ")]}
    )
    assert bad.status_code == 422 and "files of this type are not accepted" in bad.content.decode()
    assert not Ticket.objects.exists()
    good = client.post(
        url, {**fields(world_a.tenant.pk, email="new@haitian.example"), "attachments": [upload("截图.png", PNG)]}
    )
    assert good.status_code == 302
    attachment = TicketAttachment.objects.get()
    assert attachment.message.kind == "customer" and attachment.ticket == Ticket.objects.get()


@pytest.mark.django_db
def test_email_attachments_are_filed_and_refused_ones_named_in_the_message(world_a, redis_test_db):
    make_customer(world_a.rep1)
    raw = (
        b"From: li.na@yunfan.example\nTo: support@demo.example\nSubject: screenshots\n"
        b"Message-ID: <att-1@mail.yunfan.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain; charset=utf-8\n\nsee attached\n"
        b'--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="scan.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
        b'--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="run.exe"\n'
        b"Content-Transfer-Encoding: base64\n\nTVqQAA==\n--b--\n"
    )
    ticket = inbound_receive(tenant=world_a.tenant, mail=parse_message(raw))
    attachment = TicketAttachment.objects.get()
    assert (attachment.ticket, attachment.name, attachment.file.read()) == (ticket, "scan.pdf", b"%PDF-1.4\n")
    message = TicketMessage.objects.get(ticket=ticket)
    assert attachment.message == message and "run.exe" in message.body


@pytest.mark.django_db
def test_the_ticket_page_with_many_files_keeps_its_queries_bounded(desk, client_for, django_assert_max_num_queries):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    for i in range(8):
        ticket_reply(
            acting_user=world.agent,
            ticket=ticket,
            body=f"第 {i} 条",
            public=False,
            files=[ContentFile(b"log", name=f"{i}.txt"), ContentFile(b"log", name=f"{i}b.txt")],
        )
    agent = client_for(world.agent)
    agent.get(f"/tickets/{ticket.pk}/")
    with django_assert_max_num_queries(30) as captured:
        page = agent.get(f"/tickets/{ticket.pk}/")
    assert page.content.decode().count('data-testid="attachment"') == 16
    assert sum("service_ticketattachment" in q["sql"] for q in captured.captured_queries) == 2


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_a_public_reply_emails_its_files_to_the_customer(desk, media, settings, django_capture_on_commit_callbacks):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    with django_capture_on_commit_callbacks(execute=False):
        reply = ticket_reply(
            acting_user=world.agent,
            ticket=ticket,
            body="您好，发票和截图见附件。",
            public=True,
            files=[upload("发票.pdf", PDF), upload("screen.png", PNG)],
        )
    message = OutboundMessage.objects.get(key=f"ticket-reply:{reply.pk}")
    assert OutboundAttachment.objects.filter(message=message).count() == 2
    message_deliver(message_id=message.pk)
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes())
    parts = [p for p in parsed.walk() if p.get_content_disposition() == "attachment"]
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts] == [
        ("发票.pdf", "application/pdf", PDF),
        ("screen.png", "image/png", PNG),
    ]
    assert mail.outbox[0].to == [contact.email]


@pytest.mark.django_db
def test_a_public_reply_too_big_for_one_email_is_refused_and_nothing_saved(desk, media, settings):
    settings.OUTBOUND_ATTACHMENTS_MAX_BYTES = len(PDF) + 10
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)
    with pytest.raises(DomainError) as refused:
        ticket_reply(
            acting_user=world.agent,
            ticket=ticket,
            body="附件",
            public=True,
            files=[upload("a.pdf", PDF), upload("b.pdf", PDF)],
        )
    assert refused.value.field == "attachments" and "an email may carry at most" in refused.value.message
    assert not TicketMessage.objects.filter(ticket=ticket, kind="reply").exists()
    assert not TicketAttachment.objects.filter(ticket=ticket).exists() and stored_files(media) == []
    # An internal note is not emailed: the same files are taken.
    ticket_reply(acting_user=world.agent, ticket=ticket, body="附件", public=False, files=[upload("a.pdf", PDF)])
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db
def test_a_reply_that_fails_after_storing_its_files_leaves_no_file(desk, media, monkeypatch):
    world, customer, contact = desk
    ticket = make_ticket(world, customer, contact)

    def fail(**kwargs):
        raise RuntimeError("audit is down")

    monkeypatch.setattr("service.services.ticket.audit", fail)
    with pytest.raises(RuntimeError):
        ticket_reply(acting_user=world.agent, ticket=ticket, body="附件", public=True, files=[upload("a.pdf", PDF)])
    assert not TicketAttachment.objects.filter(ticket=ticket).exists()
    assert stored_files(media) == []
