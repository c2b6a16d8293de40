"""The lead import kind on crm.imports: headers recognised in Chinese and English, a preview that tells new,
duplicate and invalid rows apart, a one-transaction commit that keeps duplicates (flagged, linked, holders told)
and rejects only invalid rows (to a CSV to fix), who imports for whom, tenant scoping, and the large-file path
through a real Celery worker with a progress bar that moves batch by batch."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import ImportJob
from crm.imports.reader import guess_mapping
from crm.imports.rejected import REASON_HEADER
from crm.imports.tasks import run_import
from crm.models import AuditEvent, Notification
from sales.imports.lead import LeadKind
from sales.models import Lead
from sales.services.lead_scoring import scoring_rule_save

from ..conftest import build_world, wait_for
from ..crm.imports.gate import Gate
from .funnel import make_lead
from .helpers import in_english, make_customer

UPLOAD = reverse("sales:lead_import")
HEADERS = ["姓名", "公司名称", "职务", "手机", "邮箱", "来源", "备注"]


def csv_bytes(rows, headers=HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


ROWS = [
    ["陈一", "绍兴陈氏纺织有限公司", "采购经理", "13810000001", "chen@chen.test", "展会", "要报价"],  # 2 new
    ["林二", "金华林氏五金", "", "138-1000-0002", "", "官网", ""],  # 3 new
    ["黄三", "", "", "13610000003", "", "展会", ""],  # 4 duplicate: phone of a customer (rep2's)
    ["吴四", "", "", "", "wu@old.test", "", ""],  # 5 duplicate: email of an existing lead
    ["陈一的同事", "绍兴陈氏纺织", "", "13810000009", "", "", ""],  # 6 duplicate: company of row 2
    ["", "", "", "13810000010", "", "", ""],  # 7 invalid: no name
    ["坏电话", "", "", "12345", "", "", ""],  # 8 invalid: phone
    ["没法联系", "某公司", "", "", "", "", ""],  # 9 invalid: no way to reach
]
EXPECTED = {
    2: "valid",
    3: "valid",
    4: "duplicate",
    5: "duplicate",
    6: "duplicate",
    7: "invalid",
    8: "invalid",
    9: "invalid",
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def setup(world, media):
    customer = make_customer(world.rep2, "老客户有限公司", mobile="13610000003")
    old = make_lead(world.manager, "吴老四", email="wu@old.test", owner=world.rep2)
    return world, customer, old


def upload(client, content, name="线索.csv", **data):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content), **data})


@pytest.mark.django_db
def test_headers_are_recognised():
    mapping = guess_mapping(["联系人", "单位名称", "Mobile", "E-mail", "渠道", "活动", "留言"], LeadKind.targets)
    assert mapping == {"name": 0, "company": 1, "phone": 2, "email": 3, "source": 4, "campaign": 5, "message": 6}


@pytest.mark.django_db
def test_preview_then_commit_keeps_duplicates_and_rejects_only_invalid_rows(setup, client_for):
    world, customer, old = setup
    c = client_for(world.rep1)
    response = upload(c, csv_bytes(ROWS))
    job = ImportJob.objects.get(kind="lead")
    assert response.status_code == 302 and response["Location"] == reverse("imports:mapping", args=[job.pk])
    assert job.options["owner"] == world.rep1.pk
    columns = job.mapping
    assert columns == {"name": 0, "company": 1, "title": 2, "phone": 3, "email": 4, "source": 5, "message": 6}
    response = c.post(reverse("imports:mapping", args=[job.pk]), {k: str(v) for k, v in columns.items()})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "previewed"
    assert job.summary == {"valid": 2, "duplicate": 3, "invalid": 3, "invalid_by_field": {"name": 1, "phone": 2}}
    preview = c.get(reverse("imports:preview", args=[job.pk]))
    rows = {row["number"]: row["status"] for row in preview.context["page"]}
    assert rows == EXPECTED
    body = preview.content.decode()
    assert "an existing customer held by A 销售二" in body and "老客户有限公司" not in body
    assert "matches row 2 of this file" in body
    # The lead kind's own templates override blocks of the shared ones: duplicates are imported, flagged.
    assert "Duplicates (imported, flagged)" in body and "Import 5 leads" in body and "New lead</span>" in body
    rejected = c.get(reverse("imports:rejected", args=[job.pk])).content.decode("utf-8-sig")
    assert "坏电话" in rejected and "黄三" not in rejected
    assert not Lead.objects.filter(import_job=job).exists()  # nothing saved before the commit

    response = c.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (5, 3, 3)
    imported = {lead.name: lead for lead in Lead.objects.filter(import_job=job)}
    assert set(imported) == {"陈一", "林二", "黄三", "吴四", "陈一的同事"}
    assert all(lead.owner == world.rep1 and lead.origin == "import" for lead in imported.values())
    assert imported["黄三"].duplicate_of_customer == customer
    assert imported["吴四"].duplicate_of_lead == old
    assert imported["陈一的同事"].duplicate_of_lead == imported["陈一"]
    assert not imported["陈一"].is_duplicate and imported["林二"].phone == "+8613810000002"
    # The holders hear of it; the importer does not hear of their own file's repeats.
    assert Notification.objects.filter(recipient=world.rep2, title__startswith="New enquiry").count() == 2
    assert not Notification.objects.filter(recipient=world.rep1).exists()
    assert AuditEvent.objects.filter(action="lead.create").count() >= 5
    assert AuditEvent.objects.filter(action="lead.import", object_id=str(job.pk)).exists()
    with job.rejected_file.open("rb") as handle:
        content = handle.read().decode("utf-8-sig")
    assert "没法联系" in content and REASON_HEADER in content
    # Committing again changes nothing.
    c.post(reverse("imports:commit", args=[job.pk]))
    assert Lead.objects.filter(import_job=job).count() == 5


@pytest.mark.django_db
def test_imported_leads_are_scored(setup, client_for):
    world, _customer, _old = setup
    scoring_rule_save(acting_user=world.admin, field="source", condition="equals", value="展会", points=12)
    c = client_for(world.rep1)
    upload(c, csv_bytes(ROWS[:2]))
    job = ImportJob.objects.get(kind="lead")
    c.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "company": "1", "phone": "3", "source": "5"})
    c.post(reverse("imports:commit", args=[job.pk]))
    assert dict(Lead.objects.filter(import_job=job).values_list("name", "score")) == {"陈一": 12, "林二": 0}


@pytest.mark.django_db
def test_a_manager_imports_leads_for_nobody_yet_and_a_rep_cannot(setup, client_for):
    world, _customer, _old = setup
    c = client_for(world.rep1)
    page = c.get(UPLOAD).content.decode()
    assert "Nobody yet" not in page
    upload(c, csv_bytes(ROWS[:1]), target="none")
    assert ImportJob.objects.get(kind="lead").options["owner"] == world.rep1.pk
    m = client_for(world.manager)
    upload(m, csv_bytes(ROWS[1:2]), name="经理.csv", target="none")
    job = ImportJob.objects.get(original_name="经理.csv")
    assert job.options["owner"] is None
    m.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "phone": "3"})
    m.post(reverse("imports:commit", args=[job.pk]))
    assert Lead.objects.get(import_job=job).owner is None


@pytest.mark.django_db
def test_bad_files_and_mappings_save_nothing(setup, client_for):
    world, _customer, _old = setup
    c = client_for(world.rep1)
    response = upload(c, b"name\n", name="empty.csv")
    assert response.status_code == 422 and "no data rows" in response.content.decode()
    response = upload(c, b"x", name="old.xls")
    assert response.status_code == 422 and ".xls" in response.content.decode()
    assert not ImportJob.objects.exists()
    upload(c, csv_bytes(ROWS))
    job = ImportJob.objects.get(kind="lead")
    response = c.post(reverse("imports:mapping", args=[job.pk]), {"phone": "3"})
    assert response.status_code == 422 and "Choose the column that holds the name" in response.content.decode()
    response = c.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "company": "0"})
    assert response.status_code == 422 and "already imported as" in response.content.decode()


@pytest.mark.django_db
def test_another_tenants_or_a_colleagues_job_is_404(setup, world_b, client_for):
    world, _customer, _old = setup
    upload(client_for(world.rep1), csv_bytes(ROWS))
    job = ImportJob.objects.get(kind="lead")
    names = ["detail", "mapping", "preview", "progress", "rejected"]
    for user in (world.rep2, world_b.admin):
        c = client_for(user)
        for name in names:
            assert c.get(reverse(f"imports:{name}", args=[job.pk])).status_code == 404, (user, name)
        assert c.post(reverse("imports:commit", args=[job.pk])).status_code == 404
    # The tenant's admin may open it.
    assert client_for(world.admin).get(reverse("imports:mapping", args=[job.pk])).status_code == 200
    assert client_for(world.agent).get(UPLOAD).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_checked_and_imported_by_the_worker(celery_worker, media, settings, monkeypatch, client_for):
    world = build_world("L")
    in_english(world.rep1)
    settings.IMPORT_INLINE_MAX_ROWS = 20
    monkeypatch.setattr("crm.imports.services.BATCH_SIZE", 10)
    rows = [[f"大量{i}", f"大量{i}号公司", "", f"139{i:08d}", "", "展会", ""] for i in range(60)]
    rows[5] = ["", "", "", "13700000000", "", "", ""]  # invalid
    rows[9] = ["重复", "大量0号公司", "", "13700000001", "", "", ""]  # duplicate of the first row
    committing = Gate()
    create = LeadKind.create

    def gated(kind, batch):
        committing.passage()
        return create(kind, batch)

    monkeypatch.setattr(LeadKind, "create", gated)
    c = client_for(world.rep1)
    upload(c, csv_bytes(rows), name="大文件.csv")
    job = ImportJob.objects.get(kind="lead")
    assert job.total_rows is None  # more than 20 rows: the worker counts them
    c.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "company": "1", "phone": "3"})
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "previewed"), "the rows were not checked"
    job.refresh_from_db()
    assert job.total_rows == 60
    assert job.summary == {"valid": 58, "duplicate": 1, "invalid": 1, "invalid_by_field": {"name": 1}}
    c.post(reverse("imports:commit", args=[job.pk]))
    for batch in range(6):
        committing.wait()
        assert ImportJob.objects.values_list("status", "processed_rows").get(pk=job.pk) == ("running", batch * 10)
        assert not Lead.objects.filter(tenant=world.tenant).exists()  # the transaction is still open
        committing.open()
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status in ("done", "failed"))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.created_count, job.duplicate_count, job.rejected_count) == (59, 1, 1)
    assert Lead.objects.get(name="重复").duplicate_of_lead == Lead.objects.get(name="大量0")
    assert run_import(job.tenant_id, job.pk) == "skipped"
    assert Lead.objects.filter(tenant=world.tenant).count() == 59
