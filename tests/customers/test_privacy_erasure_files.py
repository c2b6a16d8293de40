"""Erasure reaches stored files too: import uploads and their rejected-row files, customer exports, files on the
person's tickets (and text files on other tickets that hold their number), files on messages to them (and on others
that hold it). The files are deleted once the erasure commits — a failed erasure deletes none — and the erasure's
audit row counts what was removed."""

import io

import openpyxl
import pytest
from django.core.files.base import ContentFile

from crm.files import file_save
from crm.imports.models import ImportJob
from crm.models import AuditEvent, OutboundAttachment
from crm.services.notification import MessageFile, message_queue
from customers.models import ExportJob
from customers.services.customer import customer_create
from customers.services.privacy import contact_erase
from service.models import TicketAttachment
from service.services.ticket import ticket_create

NAME, MOBILE, EMAIL = "欧阳娜娜", "13812345678", "ouyang.nana@example.test"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_job(tenant, content: bytes, suffix: str, *, rejected: bytes = b"", status="done", samples=()):
    job = ImportJob(tenant=tenant, kind="customer", original_name=f"客户{suffix}", status=status, samples=list(samples))
    file_save(job.file, f"upload{suffix}", ContentFile(content))
    if rejected:
        file_save(job.rejected_file, "rejected.csv", ContentFile(rejected))
    job.save()
    return job


def export_job(tenant, content: bytes, suffix: str):
    job = ExportJob(tenant=tenant, status="done", format=suffix.lstrip("."))
    file_save(job.file, f"customers{suffix}", ContentFile(content))
    job.save()
    return job


@pytest.fixture
def files(world_a):
    """The person's number and address in files of every kind, and files that do not hold them."""
    tenant, rep = world_a.tenant, world_a.rep1
    person = customer_create(
        acting_user=rep, data={"kind": "person", "name": NAME}, contact={"name": NAME, "mobile": MOBILE, "email": EMAIL}
    )
    company = customer_create(acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张伟"})
    csv_with = f"名称,手机\n{NAME},138 1234 5678\n张伟,13900001111\n".encode()
    csv_without = "名称,手机\n张伟,13900001111\n".encode()
    jobs = {
        "upload": import_job(
            tenant,
            csv_with,
            ".csv",
            status="previewed",
            samples=[[NAME, "138 1234 5678"], ["张伟", "13900001111"]],
        ),
        "rejected": import_job(tenant, csv_without, ".csv", rejected=f"{NAME},{EMAIL},邮箱重复\n".encode("gb18030")),
        "xlsx": import_job(tenant, xlsx([["名称", "手机"], [NAME, int(MOBILE)]]), ".xlsx"),
        "clean": import_job(tenant, csv_without, ".csv"),
    }
    exports = {
        "csv": export_job(tenant, csv_with, ".csv"),
        "xlsx": export_job(tenant, xlsx([["名称", "邮箱"], [NAME, EMAIL]]), ".xlsx"),
        "clean": export_job(tenant, csv_without, ".csv"),
    }
    agent = world_a.agent
    own = ticket_create(tenant=tenant, acting_user=agent, customer=person, subject="热水器坏了", files=[])
    other = ticket_create(tenant=tenant, acting_user=agent, customer=company, subject="发票", files=[])

    def attach(ticket, name, content, content_type):
        row = TicketAttachment(tenant=tenant, ticket=ticket, name=name, content_type=content_type, size=len(content))
        file_save(row.file, name, ContentFile(content))
        row.save()
        return row

    attachments = {
        "own_pdf": attach(own, "保修卡.pdf", PDF, "application/pdf"),
        "other_txt": attach(other, "通话记录.txt", f"回电 {MOBILE}".encode(), "text/plain"),
        "other_clean": attach(other, "发票.pdf", PDF, "application/pdf"),
    }
    messages = {
        "to_person": message_queue(
            tenant_id=tenant.pk,
            to_address=EMAIL,
            subject="回复",
            body="附件",
            key="m1",
            attachments=[MessageFile("回执.pdf", "application/pdf", PDF)],
        ),
        "mentions": message_queue(
            tenant_id=tenant.pk,
            to_address="boss@example.test",
            body="名单",
            key="m2",
            attachments=[MessageFile("名单.csv", "text/csv", csv_with)],
        ),
        "clean": message_queue(
            tenant_id=tenant.pk,
            to_address="boss@example.test",
            body="名单",
            key="m3",
            attachments=[MessageFile("名单.csv", "text/csv", csv_without)],
        ),
    }
    return person.contacts.get(), jobs, exports, attachments, messages


def stored(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.django_db
def test_erasure_deletes_the_files_that_hold_the_person_and_counts_them(
    world_a, files, media, django_capture_on_commit_callbacks
):
    contact, jobs, exports, attachments, messages = files
    before = stored(media)
    with django_capture_on_commit_callbacks(execute=True):
        contact_erase(acting_user=world_a.admin, contact=contact)
    for job in jobs.values():
        job.refresh_from_db()
    # Imports: the upload holding the person is gone (the unfinished import fails, saying why), the rejected rows
    # (GB18030) and the XLSX too; a file without the person stays. The kept sample rows lose the person.
    assert (jobs["upload"].file.name, jobs["upload"].status) == ("", "failed")
    assert "erased on their request" in jobs["upload"].error
    assert jobs["upload"].samples == [["—", "—"], ["张伟", "13900001111"]]
    assert jobs["rejected"].rejected_file.name == "" and jobs["rejected"].file.name != ""
    assert jobs["xlsx"].file.name == "" and jobs["clean"].file.name != ""
    for job in exports.values():
        job.refresh_from_db()
    assert (exports["csv"].file.name, exports["xlsx"].file.name) == ("", "")
    assert exports["clean"].file.name != ""
    # Ticket files: every file on the person's ticket, a text file on another ticket that holds their number.
    assert set(TicketAttachment.objects.values_list("name", flat=True)) == {"发票.pdf"}
    # Message files: those sent to the person, and a file that holds their number.
    assert list(OutboundAttachment.objects.values_list("message__key", flat=True)) == ["m3"]
    kept = {
        jobs["rejected"].file.name,
        jobs["clean"].file.name,
        exports["clean"].file.name,
        attachments["other_clean"].file.name,
        OutboundAttachment.objects.get().file.name,
    }
    assert stored(media) == kept and len(before) == len(kept) + 9
    event = AuditEvent.objects.get(action="contact.erase")
    assert event.details["files_removed"] == {
        "import_uploads": 2,
        "import_rejected_rows": 1,
        "exports": 2,
        "message_attachments": 2,
        "ticket_attachments": 2,
    }


@pytest.mark.django_db
def test_a_failed_erasure_deletes_no_file(world_a, files, media, monkeypatch, django_capture_on_commit_callbacks):
    contact, jobs, *_rest = files
    before = stored(media)

    def fail(**kwargs):
        raise RuntimeError("audit is down")

    monkeypatch.setattr("customers.services.privacy.audit", fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        contact_erase(acting_user=world_a.admin, contact=contact)
    assert stored(media) == before
    jobs["upload"].refresh_from_db()
    assert jobs["upload"].file.name != "" and jobs["upload"].status == "previewed"
