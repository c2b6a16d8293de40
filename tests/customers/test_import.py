"""The customer import kind on crm.imports: files as Chinese offices export them (UTF-8 with BOM, GB18030, XLSX),
the preview's classification per row, the one-transaction commit (nothing partial), the rejected-rows file,
permissions, tenant scoping, and the large-file path through a real Celery worker with a progress bar that moves
batch by batch.

The sample files are generated here; ../shared/data/import/ is not a test dependency.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import ImportJob
from crm.imports.reader import guess_mapping, read_sheet
from crm.imports.rejected import REASON_HEADER
from crm.imports.services import import_map, import_start, import_upload, job_sheet
from crm.imports.tasks import run_import
from crm.models import AuditEvent
from customers.imports.customer import CustomerKind
from customers.models import Contact, Customer, CustomerIdentifier, OwnershipEvent
from customers.services.customer import customer_create
from customers.services.tenant import tenant_defaults

from ..conftest import build_world, wait_for
from ..crm.imports.gate import Gate

IMPORT = reverse("customers:import")
HEADERS = ["客户名称", "客户级别", "行业", "地区", "来源", "联系人", "职务", "手机", "邮箱", "微信", "生日", "备注"]


def row(name, level="", mobile="", email="", birthday="", contact="联系人", **extra):
    values = {
        "客户名称": name,
        "客户级别": level,
        "行业": extra.get("industry", "互联网"),
        "地区": "浙江省",
        "来源": "展会",
        "联系人": contact,
        "职务": "经理",
        "手机": mobile,
        "邮箱": email,
        "微信": "wx_" + str(abs(hash(name)) % 10000),
        "生日": birthday,
        "备注": extra.get("notes", "老客户"),
    }
    return [values[h] for h in HEADERS]


# File line numbers (the header is line 1) → what the preview must say.
SAMPLE_ROWS = [
    row("杭州云帆科技有限公司", "A", "＋86 １３８ １２３４ ５６７８", "zhang@yunfan.example", "1985-03-02"),  # 2 valid
    row("北京星河贸易有限公司", "重点客户", "8613912345678", "li@xinghe.example", "1990/07/15"),  # 3 valid
    row("上海海纳物流有限公司", "普通客户", "+86 137-0000-2222", "WANG@HAINA.EXAMPLE", ""),  # 4 valid
    row("杭州云帆科技", "B", "13500003333", "", ""),  # 5 duplicate: company name of row 2
    row("深圳新开实业有限公司", "C", "136 0000 1111", "", ""),  # 6 duplicate: phone of an existing customer
    row("", "A", "13500004444", "", ""),  # 7 invalid: name missing
    row("广州坏电话有限公司", "A", "12345", "", ""),  # 8 invalid: phone
    row("成都坏邮箱有限公司", "A", "13500005555", "zhangsan@", ""),  # 9 invalid: email
    row("武汉未来生日有限公司", "A", "13500006666", "", "2999-01-01"),  # 10 invalid: birthday in the future
    row("南京未知级别有限公司", "Z级", "13500007777", "", ""),  # 11 invalid: unknown level
    row("重庆同号码有限公司", "B", "139-1234-5678", "", ""),  # 12 duplicate: phone of row 3
]
EXPECTED = {
    2: "valid",
    3: "valid",
    4: "valid",
    5: "duplicate",
    6: "duplicate",
    7: "invalid",
    8: "invalid",
    9: "invalid",
    10: "invalid",
    11: "invalid",
    12: "duplicate",
}
VALID_NAMES = {"杭州云帆科技有限公司", "北京星河贸易有限公司", "上海海纳物流有限公司"}


def csv_bytes(rows, *, encoding="utf-8-sig", headers=HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, *, headers=HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "客户"
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SAMPLE_FILES = {
    "utf8-bom": ("客户-utf8.csv", lambda rows: csv_bytes(rows, encoding="utf-8-sig")),
    "utf8": ("客户-plain.csv", lambda rows: csv_bytes(rows, encoding="utf-8")),
    "gb18030": ("客户-gbk.csv", lambda rows: csv_bytes(rows, encoding="gb18030")),
    "xlsx": ("客户.xlsx", xlsx_bytes),
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def setup_world(world):
    tenant_defaults(tenant=world.tenant)  # default pool and levels A/B/C with their aliases
    for user in (world.admin, world.manager, world.rep1, world.rep2, world.agent):
        user.language = "en"
        user.save(update_fields=["language"])
    return world


@pytest.fixture
def world(world_a, media):
    setup_world(world_a)
    # The customer row 6 collides with (held by rep2, by phone).
    customer_create(
        acting_user=world_a.rep2,
        data={"name": "深圳老客户有限公司"},
        contact={"name": "李四", "mobile": "13600001111"},
    )
    return world_a


def upload(client, name, data, **extra) -> ImportJob:
    response = client.post(IMPORT, {"file": SimpleUploadedFile(name, data), **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.latest("pk")
    assert response["Location"] == reverse("imports:mapping", args=[job.pk])
    return job


def map_columns(client, job, columns=None):
    columns = columns if columns is not None else job.mapping
    data = {t.key: (str(columns[t.key]) if t.key in columns else "") for t in CustomerKind.targets}
    return client.post(reverse("imports:mapping", args=[job.pk]), data)


def preview_statuses(client, job, **params) -> dict[int, str]:
    response = client.get(reverse("imports:preview", args=[job.pk]), params)
    assert response.status_code == 200
    html = response.content.decode()
    return {int(n): s for n, s in re.findall(r'data-row="(\d+)" data-status="(\w+)"', html)}


def upload_and_preview(client, name, data, **extra) -> ImportJob:
    job = upload(client, name, data, **extra)
    response = map_columns(client, job)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("imports:preview", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED
    return job


def classifier(world, mapping) -> CustomerKind:
    """One pass of the customer kind over rows, as the check and the commit run it, on behalf of the admin."""
    return CustomerKind(job=ImportJob(tenant=world.tenant, kind="customer", mapping=mapping), user=world.admin)


def read_rejected(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


# --- reading files and mapping columns -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SAMPLE_FILES)
def test_every_format_reads_the_same_rows(kind):
    name, make = SAMPLE_FILES[kind]
    sheet = read_sheet(make(SAMPLE_ROWS), name)
    assert sheet.headers == HEADERS
    assert sheet.encoding == {"utf-8-bom": "utf-8-sig", "utf8-bom": "utf-8-sig", "utf8": "utf-8"}.get(kind, kind)
    rows = list(sheet.rows)
    assert [n for n, _ in rows] == list(range(2, 2 + len(SAMPLE_ROWS)))
    assert [cells[0] for _, cells in rows] == [r[0] for r in SAMPLE_ROWS]
    assert rows[0][1][7] == "＋86 １３８ １２３４ ５６７８"


def test_headers_are_recognised_in_chinese_and_english():
    assert guess_mapping(HEADERS, CustomerKind.targets) == {
        key: i
        for i, key in enumerate(
            [
                "name",
                "level",
                "industry",
                "region",
                "source",
                "contact",
                "title",
                "mobile",
                "email",
                "wechat",
                "birthday",
                "notes",
            ]
        )
    }
    english = [
        "Name",
        "Level",
        "Industry",
        "Region",
        "Source",
        "Contact",
        "Title",
        "Phone",
        "E-mail",
        "WeChat",
        "Birthday",
        "Notes",
    ]
    mapping = guess_mapping(english, CustomerKind.targets)
    assert mapping["name"] == 0 and mapping["mobile"] == 7 and mapping["email"] == 8 and mapping["notes"] == 11
    # Decorations offices add: required marks, notes in brackets, full-width colons.
    assert guess_mapping(["*客户名称（必填）", "手机号码：", "座机"], CustomerKind.targets) == {
        "name": 0,
        "mobile": 1,
        "phone": 2,
    }


def test_xlsx_number_and_date_cells_read_as_typed(world):
    data = xlsx_bytes(
        [["宁波数字单元格有限公司", "B", "", "", "", "赵六", "", 13800138000, "", "", dt.date(1988, 8, 8), ""]]
    )
    sheet = read_sheet(data, "x.xlsx")
    ((_n, cells),) = list(sheet.rows)
    assert cells[7] == "13800138000" and cells[10] == "1988-08-08"
    (result,) = classifier(world, guess_mapping(HEADERS, CustomerKind.targets)).classify([(2, cells)])
    assert result.status == "valid", result.errors
    assert result.contact["mobile"] == "+8613800138000" and result.contact["birthday"] == dt.date(1988, 8, 8)


@pytest.mark.parametrize(
    "written",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "＋86 １３８１２３４５６７８",
        "+86 138 1234 5678",
        "8613812345678",
        "0086-138-1234-5678",
        "（+86）13812345678",
    ],
)
def test_phones_written_every_which_way(world, written):
    result = classifier(world, {"name": 0, "mobile": 1}).clean(2, ["某公司", written])
    assert result.status == "valid", result.errors
    assert result.contact["mobile"] == "+8613812345678"


def test_levels_map_through_codes_names_and_aliases(world):
    kind = classifier(world, {"name": 0, "level": 1})
    for written, code in [("A", "A"), ("a", "A"), ("重点客户", "A"), ("VIP", "A"), ("普通客户", "B"), ("C类", "C")]:
        assert kind.clean(2, ["某公司", written]).customer["level"].code == code
    unknown = kind.clean(2, ["某公司", "钻石客户"])
    assert unknown.status == "invalid" and "钻石客户" in unknown.errors["level"]


def test_birthdays(world):
    kind = classifier(world, {"name": 0, "birthday": 1})
    assert kind.clean(2, ["某公司", "1990年5月31日"]).contact["birthday"] == dt.date(1990, 5, 31)
    assert kind.clean(2, ["某公司", "19900531"]).contact["birthday"] == dt.date(1990, 5, 31)
    for bad in ["1990-02-30", "明年", "2999-01-01", "1899-12-31"]:
        assert "birthday" in kind.clean(2, ["某公司", bad]).errors, bad


# --- preview ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SAMPLE_FILES)
def test_preview_classifies_every_row(world, client_for, kind):
    name, make = SAMPLE_FILES[kind]
    client = client_for(world.admin)
    job = upload_and_preview(client, name, make(SAMPLE_ROWS))
    assert job.total_rows == len(SAMPLE_ROWS)
    assert job.summary["valid"] == 3 and job.summary["duplicate"] == 3 and job.summary["invalid"] == 5
    assert preview_statuses(client, job) == EXPECTED
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    # The reason sits in the cell it is about.
    assert "The customer name is missing." in html
    assert "“12345” is not a valid phone number." in html
    assert "“zhangsan@” is not a valid email address." in html
    assert "A birthday cannot be in the future." in html
    assert "Unknown level “Z级”" in html
    assert "This company name already appears in row 2 of this file." in html
    assert "This phone number already appears in row 3 of this file." in html
    # The admin sees rep2's customer, but its phone masked: a preview must not tell whose number it is.
    assert "This phone number already belongs to an existing customer held by A 销售二." in html
    assert "深圳老客户有限公司" not in html
    # Nothing is saved by a preview.
    assert Customer.objects.filter(tenant=world.tenant).count() == 1


def test_preview_tells_a_rep_no_more_than_they_may_see(world, client_for):
    client = client_for(world.rep1)
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    assert "深圳老客户有限公司" not in html  # rep2's customer: rep1 learns who holds it, not its name
    assert "This phone number already belongs to an existing customer held by A 销售二." in html


def test_preview_lists_the_first_rows_and_filters_problems(world, client_for, monkeypatch):
    monkeypatch.setattr("crm.imports.services.PREVIEW_ROWS", 4)
    client = client_for(world.admin)
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    assert list(preview_statuses(client, job)) == [2, 3, 4, 5]
    problems = preview_statuses(client, job, problems="1")
    assert list(problems) == [5, 6, 7, 8] and "valid" not in problems.values()
    # The table alone, for htmx.
    fragment = client.get(
        reverse("imports:preview", args=[job.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-rows"
    )
    assert b"<html" not in fragment.content and b'data-row="2"' in fragment.content


def test_mapping_can_be_changed(world, client_for):
    client = client_for(world.admin)
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    columns = dict(job.mapping)
    del columns["mobile"]  # without phones, rows 8 and 12 are no longer refused for their phones
    assert map_columns(client, job, columns).status_code == 302
    statuses = preview_statuses(client, job)
    assert statuses[8] == "valid" and statuses[12] == "valid"


# --- commit -------------------------------------------------------------------------------------------------------


def test_commit_imports_exactly_the_valid_rows(world, client_for):
    client = client_for(world.admin)
    job = upload_and_preview(client, "客户.xlsx", xlsx_bytes(SAMPLE_ROWS), target=str(world.rep1.pk))
    response = client.post(reverse("imports:commit", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("imports:detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count, job.processed_rows) == (3, 8, 11)
    imported = Customer.objects.filter(tenant=world.tenant).exclude(name="深圳老客户有限公司")
    assert set(imported.values_list("name", flat=True)) == VALID_NAMES
    assert set(imported.values_list("owner", flat=True)) == {world.rep1.pk}
    yunfan = imported.get(name="杭州云帆科技有限公司")
    assert yunfan.level.code == "A" and yunfan.industry == "互联网" and yunfan.notes == "老客户"
    assert yunfan.name_initials  # pinyin search fields are filled as by customer_create
    contact = Contact.objects.get(customer=yunfan)
    assert contact.is_primary and contact.mobile == "+8613812345678" and contact.birthday == dt.date(1985, 3, 2)
    assert Contact.objects.get(customer__name="上海海纳物流有限公司").email == "wang@haina.example"
    assert Customer.objects.get(name="北京星河贸易有限公司").level.code == "A"  # 重点客户 is an alias of A
    # The identifiers are registered: the database now refuses the same company again.
    assert CustomerIdentifier.objects.filter(customer=yunfan, kind="phone", value="+8613812345678").exists()
    events = OwnershipEvent.objects.filter(customer__in=imported)
    assert events.count() == 3 and set(events.values_list("reason", flat=True)) == {"import"}
    assert set(events.values_list("to_owner", flat=True)) == {world.rep1.pk}
    # Every import is an audit event, and so is every customer it created.
    event = AuditEvent.objects.get(tenant=world.tenant, action="customer.import")
    assert event.actor == world.admin and event.details["created"] == 3 and event.details["rejected"] == 8
    assert AuditEvent.objects.filter(tenant=world.tenant, action="customer.create", details__import=job.pk).count() == 3
    assert AuditEvent.objects.filter(tenant=world.tenant, action="customer.import.upload").count() == 1
    # The page says so and offers the rejected rows.
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert 'data-testid="import-done"' in page and reverse("imports:rejected", args=[job.pk]) in page
    # A second commit (double click) does nothing more.
    client.post(reverse("imports:commit", args=[job.pk]))
    assert Customer.objects.filter(tenant=world.tenant).count() == 4


def test_rejected_rows_file_to_fix_and_upload_again(world, client_for):
    client = client_for(world.admin)
    rows = [*SAMPLE_ROWS, row('=HYPERLINK("http://evil")', "A", "12345")]  # line 13: a formula, and a bad phone
    job = upload_and_preview(client, "客户.csv", csv_bytes(rows, encoding="gb18030"))
    # Offered already in the preview…
    before = read_rejected(client.get(reverse("imports:rejected", args=[job.pk])))
    client.post(reverse("imports:commit", args=[job.pk]))
    response = client.get(reverse("imports:rejected", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "rejected.csv" in response["Content-Disposition"]
    rejected = read_rejected(response)
    assert rejected == before
    assert rejected[0] == [*HEADERS, REASON_HEADER]
    assert [r[0] for r in rejected[1:]] == [
        "杭州云帆科技",
        "深圳新开实业有限公司",
        "",
        "广州坏电话有限公司",
        "成都坏邮箱有限公司",
        "武汉未来生日有限公司",
        "南京未知级别有限公司",
        "重庆同号码有限公司",
        '\'=HYPERLINK("http://evil")',
    ]
    # Original cells as they were written (full-width digits and all), the reason last.
    assert rejected[2][7] == "136 0000 1111" and "already belongs to" in rejected[2][-1]
    assert rejected[4][-1] == "“12345” is not a valid phone number."
    # Fixed and uploaded again: the reason column is not mapped, the apostrophe guard is undone.
    fixed = [r[:-1] for r in rejected[1:]]
    fixed[3][7] = "13500008888"
    job2 = upload_and_preview(client, "fixed.csv", csv_bytes(fixed, headers=rejected[0][:-1] + [REASON_HEADER]))
    assert REASON_HEADER in job2.headers and len(job2.mapping) == len(HEADERS)
    statuses = preview_statuses(client, job2)
    assert statuses[5] == "valid"  # 广州坏电话有限公司 with its phone fixed
    assert statuses[2] == "duplicate"  # 杭州云帆科技 now exists
    sheet_cells = [cells for _n, cells in job_sheet(job2).rows]
    assert sheet_cells[-1][0] == '=HYPERLINK("http://evil")'


def test_row_that_became_a_duplicate_meanwhile_is_rejected_at_commit(world, client_for):
    client = client_for(world.admin)
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    assert job.summary["valid"] == 3
    # A colleague creates row 3's company between the preview and the commit.
    customer_create(acting_user=world.rep2, data={"name": "北京星河贸易（有限公司）"})
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 3 and job.rejected_count == 8
    assert job.summary["committed"] == {"valid": 3, "duplicate": 3, "invalid": 5}
    rejected = read_rejected(client.get(reverse("imports:rejected", args=[job.pk])))
    xinghe = next(r for r in rejected if r[0] == "北京星河贸易有限公司")
    assert "This company name already belongs to" in xinghe[-1]
    # Row 12 repeated row 3's phone; with row 3 rejected it is judged on its own, and imported.
    assert Customer.objects.filter(name="重庆同号码有限公司").exists()


def test_a_race_on_the_identifier_index_rejects_the_row_not_the_import(world, monkeypatch):
    """Between the check and the insert another transaction takes an identifier: the unique index refuses the
    batch, which is redone row by row through customer_create; only that row is rejected."""
    admin = world.admin
    job = import_upload(
        acting_user=admin,
        kind=CustomerKind,
        uploaded=SimpleUploadedFile("r.csv", csv_bytes(SAMPLE_ROWS[:4])),
        destination=str(admin.pk),
    )
    import_map(acting_user=admin, job=job, columns=job.mapping)
    original = CustomerKind.create

    def sneaky(kind, rows):
        # Row 3's phone is taken after the rows were checked, before they are inserted.
        customer_create(
            acting_user=world.rep2, data={"name": "抢先一步有限公司"}, contact={"name": "王五", "mobile": "13912345678"}
        )
        return original(kind, rows)

    monkeypatch.setattr(CustomerKind, "create", sneaky)
    job = import_start(acting_user=admin, job=job)
    assert job.status == "done" and job.created_count == 2 and job.rejected_count == 2
    assert set(Customer.objects.filter(created_by=admin).values_list("name", flat=True)) == {
        "杭州云帆科技有限公司",
        "上海海纳物流有限公司",
    }


def test_a_failure_mid_commit_saves_nothing(world, client_for, monkeypatch):
    client = client_for(world.admin)
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    monkeypatch.setattr("crm.imports.services.BATCH_SIZE", 1)
    calls = []
    original = CustomerKind.bulk_create

    def failing(kind, rows, decisions):
        calls.append(rows)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(kind, rows, decisions)

    monkeypatch.setattr(CustomerKind, "bulk_create", failing)
    before = {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "identifiers": CustomerIdentifier.objects.count(),
        "events": OwnershipEvent.objects.count(),
    }
    response = client.post(reverse("imports:commit", args=[job.pk]))
    assert response.status_code == 302
    assert len(calls) == 2  # the first row had been written when the second failed
    after = {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "identifiers": CustomerIdentifier.objects.count(),
        "events": OwnershipEvent.objects.count(),
    }
    assert after == before
    job.refresh_from_db()
    assert job.status == "failed" and "nothing was saved" in job.error
    # The rejected rows offered are still the preview's: the commit's file was not kept.
    assert job.rejected_count == 0 and job.created_count == 0
    assert not AuditEvent.objects.filter(action__in=["customer.import", "customer.create"], details__import=job.pk)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert 'data-testid="import-failed"' in page


# --- bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,data,message",
    [
        (None, None, "This field is required."),
        ("客户.txt", b"a,b\n1,2\n", "Upload a CSV or Excel (.xlsx) file."),
        ("客户.xls", b"\xd0\xcf\x11\xe0", "Old Excel files (.xls) are not supported"),
        ("客户.csv", b"", "The submitted file is empty."),
        ("客户.csv", "\ufeff\n\n".encode(), "The file is empty."),
        ("客户.csv", "客户名称,手机\n".encode("utf-8-sig"), "The file has a header row but no data rows."),
        ("客户.xlsx", b"PK\x03\x04 not really a zip", "could not be read as an Excel workbook"),
        ("客户.csv", b"x" * 300, "The file is larger than 200\xa0bytes"),
    ],
)
def test_bad_uploads_get_a_form_error_and_save_nothing(world, client_for, settings, media, name, data, message):
    settings.IMPORT_MAX_UPLOAD_BYTES = 200
    client = client_for(world.admin)
    payload = {"file": SimpleUploadedFile(name, data)} if name else {}
    response = client.post(IMPORT, payload)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not (media / "imports").exists() or not any((media / "imports").rglob("*.*"))


def test_a_file_without_a_name_column_cannot_be_previewed(world, client_for):
    client = client_for(world.admin)
    job = upload(client, "无名称.csv", csv_bytes([["13800138000", "a@b.example"]], headers=["手机", "邮箱"]))
    assert "name" not in job.mapping
    response = map_columns(client, job)
    assert response.status_code == 422
    assert "Choose the column that holds the customer name." in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED and job.summary == {} and not job.rejected_file
    # The preview of an unmapped job goes back to the mapping.
    assert client.get(reverse("imports:preview", args=[job.pk]))["Location"].endswith("/mapping/")
    # One column for two fields is refused too.
    response = map_columns(client, job, {"name": 0, "mobile": 0})
    assert response.status_code == 422 and "already imported as" in response.content.decode()


# --- permissions and scope -------------------------------------------------------------------------------------------


def test_an_agent_cannot_import(world, client_for):
    client = client_for(world.agent)
    assert client.get(IMPORT).status_code == 403
    response = client.post(IMPORT, {"file": SimpleUploadedFile("a.csv", csv_bytes(SAMPLE_ROWS))})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_a_rep_imports_into_their_own_holdings(world, client_for):
    client = client_for(world.rep1)
    assert b'name="target"' not in client.get(IMPORT).content
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS), target="pool")  # ignored for a rep
    assert job.options["owner"] == world.rep1.pk
    client.post(reverse("imports:commit", args=[job.pk]))
    imported = Customer.objects.filter(name__in=VALID_NAMES)
    assert imported.count() == 3 and set(imported.values_list("owner", flat=True)) == {world.rep1.pk}
    assert set(Customer.objects.visible_to(world.rep1).values_list("name", flat=True)) == VALID_NAMES


def test_a_manager_imports_for_a_team_member_or_into_the_pool(world, client_for):
    client = client_for(world.manager)
    choices = client.get(IMPORT).content.decode()
    assert f'value="{world.rep2.pk}"' in choices and 'value="pool"' in choices
    assert f'value="{world.admin.pk}"' not in choices  # not in the manager's teams
    refused = client.post(
        IMPORT, {"file": SimpleUploadedFile("a.csv", csv_bytes(SAMPLE_ROWS)), "target": world.admin.pk}
    )
    assert refused.status_code == 422 and not ImportJob.objects.exists()
    job = upload_and_preview(client, "客户.csv", csv_bytes(SAMPLE_ROWS), target="pool")
    client.post(reverse("imports:commit", args=[job.pk]))
    imported = Customer.objects.filter(name__in=VALID_NAMES)
    assert imported.count() == 3 and set(imported.values_list("owner", flat=True)) == {None}
    assert set(imported.values_list("pool__is_default", flat=True)) == {True}
    assert set(OwnershipEvent.objects.filter(customer__in=imported).values_list("to_pool__is_default", flat=True)) == {
        True
    }


def job_urls(job):
    return [
        ("get", reverse("imports:detail", args=[job.pk])),
        ("get", reverse("imports:mapping", args=[job.pk])),
        ("post", reverse("imports:mapping", args=[job.pk])),
        ("get", reverse("imports:preview", args=[job.pk])),
        ("post", reverse("imports:commit", args=[job.pk])),
        ("get", reverse("imports:progress", args=[job.pk])),
        ("get", reverse("imports:rejected", args=[job.pk])),
    ]


def test_another_tenants_or_a_colleagues_job_is_404(world, world_b, client_for):
    owner_client = client_for(world.rep1)
    job = upload_and_preview(owner_client, "客户.csv", csv_bytes(SAMPLE_ROWS))
    for outsider in (world_b.admin, world_b.manager, world_b.rep1, world.rep2, world.manager):
        client = client_for(outsider)
        for method, url in job_urls(job):
            assert getattr(client, method)(url).status_code == 404, (outsider.email, method, url)
    assert b"\xe5\xae\xa2\xe6\x88\xb7.csv" not in client_for(world_b.admin).get(IMPORT).content  # not listed either
    # The uploader and the tenant's administrator see it.
    for viewer in (world.rep1, world.admin):
        assert client_for(viewer).get(reverse("imports:preview", args=[job.pk])).status_code == 200
    job.refresh_from_db()
    assert job.status == "previewed"  # no outsider's POST started it


# --- the Celery path -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_large_file_runs_as_a_job_with_a_progress_bar_that_moves(
    celery_worker, media, settings, monkeypatch, client_for
):
    """The check and the commit of a large file run in the worker. Each is held at every batch until the test has
    looked: the progress written outside the transaction moves batch by batch while nothing is visible yet."""
    world = setup_world(build_world("J"))
    settings.IMPORT_INLINE_MAX_ROWS = 50
    monkeypatch.setattr("crm.imports.services.BATCH_SIZE", 25)
    rows = [row(f"大文件{i}号科技有限公司", "B", f"139{i:08d}", f"u{i}@big.example") for i in range(300)]
    rows[10] = row("", "B", "13700000000")  # invalid
    rows[20] = row("大文件0号科技有限公司", "B", "13700000001")  # duplicate of the first row
    checking, committing = Gate(), Gate()
    classify, create = CustomerKind.classify, CustomerKind.create

    def gated_classify(kind, batch):
        if kind.job.status == ImportJob.Status.CHECKING and batch[0][0] > 2:
            checking.passage()  # every batch of the check but the first
        return classify(kind, batch)

    def gated_create(kind, batch):
        committing.passage()  # every batch of the commit
        return create(kind, batch)

    monkeypatch.setattr(CustomerKind, "classify", gated_classify)
    monkeypatch.setattr(CustomerKind, "create", gated_create)
    client = client_for(world.admin)
    job = upload(client, "大文件.csv", csv_bytes(rows))
    assert job.total_rows is None  # more than 50 rows: counted by the check, not by the upload
    progress_url = reverse("imports:progress", args=[job.pk])
    # The check of a large file runs in the worker; the preview page follows it.
    assert map_columns(client, job).status_code == 302
    for batch in range(1, 12):
        checking.wait()
        assert ImportJob.objects.values_list("status", "processed_rows").get(pk=job.pk) == ("checking", batch * 25)
        polled = client.get(progress_url, {"phase": "check"}, HTTP_HX_REQUEST="true")
        assert f"{batch * 25} rows checked".encode() in polled.content and "HX-Refresh" not in polled
        checking.open()
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "previewed"), "the rows were not checked"
    job.refresh_from_db()
    assert job.total_rows == 300
    assert (job.summary["valid"], job.summary["duplicate"], job.summary["invalid"]) == (298, 1, 1)
    # The preview page that polled during the check reloads itself once the counts are in.
    assert client.get(progress_url, {"phase": "check"}, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    preview = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    assert 'data-testid="count-valid">298<' in preview and "in the background" in preview

    response = client.post(reverse("imports:commit", args=[job.pk]))
    assert response.status_code == 302
    for batch in range(12):
        committing.wait()
        status, processed = ImportJob.objects.values_list("status", "processed_rows").get(pk=job.pk)
        assert (status, processed) == ("running", batch * 25)
        # Nothing of the import is visible before its transaction commits.
        assert not Customer.objects.filter(tenant=world.tenant).exists()
        polled = client.get(progress_url, HTTP_HX_REQUEST="true")
        percent = batch * 25 * 100 // 300
        assert b'hx-trigger="every 1s"' in polled.content
        assert f'aria-valuenow="{percent}"'.encode() in polled.content
        assert f"{batch * 25} of 300 rows".encode() in polled.content
        committing.open()
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status in ("done", "failed"))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.created_count, job.rejected_count, job.processed_rows) == (298, 2, 300)
    assert Customer.objects.filter(tenant=world.tenant).count() == 298
    final = client.get(progress_url, HTTP_HX_REQUEST="true")
    assert b"hx-trigger" not in final.content and b'data-testid="import-done"' in final.content
    assert AuditEvent.objects.filter(action="customer.import", object_id=str(job.pk)).exists()
    # Running the task again (redelivery) changes nothing.
    assert run_import(job.tenant_id, job.pk) == "skipped"
    assert Customer.objects.filter(tenant=world.tenant).count() == 298
