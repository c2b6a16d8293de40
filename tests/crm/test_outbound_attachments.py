"""Files on outgoing emails: stored with the message row (tenant-scoped), attached as MIME parts when delivered, a
total over OUTBOUND_ATTACHMENTS_MAX_BYTES written as a failed message that says why and is never sent; and files
stored by a write that rolls back (the whole transaction or its savepoint) are deleted again."""

from email import message_from_bytes

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse

from crm.files import file_save
from crm.models import OutboundAttachment, OutboundMessage
from crm.services.notification import MessageFile, message_deliver, message_queue

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OUTBOUND_ATTACHMENTS_MAX_BYTES = 1024
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_an_email_carries_its_files_as_mime_parts(world_a, media):
    message = message_queue(
        tenant_id=world_a.tenant.pk,
        to_address="li@example.com",
        subject="报价单",
        body="请查收附件。",
        key="test:attach",
        attachments=[
            MessageFile("报价单.pdf", "application/pdf", PDF),
            MessageFile("notes.txt", "text/plain", ContentFile(b"hello", name="notes.txt")),
        ],
    )
    rows = list(OutboundAttachment.objects.filter(message=message))
    assert [(r.name, r.size, r.tenant_id) for r in rows] == [
        ("报价单.pdf", len(PDF), world_a.tenant.pk),
        ("notes.txt", 5, world_a.tenant.pk),
    ]
    assert all(r.file.name.startswith(f"outbound/{world_a.tenant.pk}/") for r in rows)
    assert message_deliver(message_id=message.pk).status == OutboundMessage.Status.SENT
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes())
    assert parsed.is_multipart()
    parts = [p for p in parsed.walk() if p.get_content_disposition() == "attachment"]
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts] == [
        ("报价单.pdf", "application/pdf", PDF),
        ("notes.txt", "text/plain", b"hello"),
    ]
    body = next(
        p for p in parsed.walk() if p.get_content_disposition() is None and p.get_content_type() == "text/plain"
    )
    assert "请查收附件" in body.get_payload(decode=True).decode()


@pytest.mark.django_db
def test_attachments_over_the_total_are_a_failed_message_that_says_why(
    world_a, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_queue(
            tenant_id=world_a.tenant.pk,
            to_address="li@example.com",
            subject="太大",
            body="附件",
            key="test:too-big",
            attachments=[
                MessageFile("a.pdf", "application/pdf", PDF * 20),
                MessageFile("b.pdf", "application/pdf", PDF * 20),
            ],
        )
    assert message.status == OutboundMessage.Status.FAILED
    assert "an email may carry at most 0.0 MB" in message.last_error
    assert not OutboundAttachment.objects.filter(message=message).exists() and stored_files(media) == []
    assert callbacks == [] and message_deliver(message_id=message.pk) is None and mail.outbox == []


@pytest.mark.django_db
def test_a_file_stored_in_a_rolled_back_savepoint_is_deleted_and_a_committed_one_kept(world_a, media):
    attachment = OutboundAttachment(tenant_id=world_a.tenant.pk)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            file_save(attachment.file, "gone.txt", ContentFile(b"gone"))
            assert len(stored_files(media)) == 1
            raise RuntimeError("the write fails after the file is stored")
    assert stored_files(media) == []
    with transaction.atomic():
        kept = file_save(attachment.file, "kept.txt", ContentFile(b"kept"))
    assert [p.name for p in stored_files(media)] == [kept.rpartition("/")[2]]


@pytest.mark.django_db(transaction=True)
def test_a_file_stored_in_a_rolled_back_transaction_is_deleted(world_a, media):
    attachment = OutboundAttachment(tenant_id=world_a.tenant.pk)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            file_save(attachment.file, "gone.txt", ContentFile(b"gone"))
            raise RuntimeError("the write fails after the file is stored")
    assert stored_files(media) == []
    with transaction.atomic():
        file_save(attachment.file, "kept.txt", ContentFile(b"kept"))
    assert len(stored_files(media)) == 1


@pytest.mark.django_db
def test_the_outgoing_messages_page_lists_files_and_why_a_message_failed(
    world_a, media, client_for, django_assert_max_num_queries
):
    for i in range(5):
        message_queue(
            tenant_id=world_a.tenant.pk,
            to_address=f"li{i}@example.com",
            subject=f"报价 {i}",
            body="附件",
            key=f"test:page:{i}",
            attachments=[
                MessageFile(f"报价单{i}.pdf", "application/pdf", PDF),
                MessageFile("a.txt", "text/plain", b"x"),
            ],
        )
    message_queue(
        tenant_id=world_a.tenant.pk,
        to_address="big@example.com",
        body="附件",
        key="test:page:big",
        attachments=[MessageFile("big.pdf", "application/pdf", PDF * 40)],
    )
    client = client_for(world_a.admin)
    client.get(reverse("settings:messages"))
    with django_assert_max_num_queries(12):
        html = client.get(reverse("settings:messages")).content.decode()
    assert html.count('data-testid="message-attachment"') == 10 and "报价单4.pdf · 35" in html
    assert "an email may carry at most 0.0 MB" in html
