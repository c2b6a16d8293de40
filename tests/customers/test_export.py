"""Export of the filtered customer list: permissions, Excel-safe CSV and XLSX, audit, the job path through a real
Celery worker, and tenant scoping of the exports page and downloads."""

import csv
import io
import os
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from crm.exports import CONTENT_TYPES, csv_cell
from crm.models import AuditEvent, Notification, Role
from customers.exports.customer import CustomerExport
from customers.models import Customer, ExportJob
from customers.services.customer import customer_create
from customers.services.export import EXPORT_KEEP_DAYS, STALE_RUNNING, export_run
from customers.tasks import purge_tenant_trash, run_export

from ..conftest import build_world, wait_for
from ..factories import UserFactory

EXPORT = reverse("customers:export")


def make(user, name, mobile="", **data):
    contact = {"name": f"{name}联系人", "mobile": mobile} if mobile else None
    return customer_create(acting_user=user, data={"name": name, **data}, contact=contact)


def post_export(client, fmt="csv", **params):
    url = EXPORT + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return client.post(url, {"format": fmt})


def in_english(user):
    """Tenants default to zh-hans; assertions on labels read English."""
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def names(rows) -> set[str]:
    return {row[0] for row in rows[1:]}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- permissions and scope -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reps_and_agents_may_not_export(world_a, client_for):
    make(world_a.rep1, "一组客户")
    for user in (world_a.rep1, world_a.agent):
        c = client_for(user)
        assert c.get(EXPORT).status_code == 403
        assert post_export(c).status_code == 403
        assert c.get(reverse("customers:exports")).status_code == 403
    assert not AuditEvent.objects.filter(action="customer.export").exists()


@pytest.mark.django_db
def test_manager_exports_their_teams_rows_and_admin_everything(world_a, world_b, client_for):
    make(world_a.rep1, "一组客户")
    make(world_a.rep2, "二组客户")
    make(world_a.admin, "管理员自己的客户")  # the admin is in no team: not the manager's
    make(world_b.rep1, "别家客户")

    r = post_export(client_for(world_a.manager))
    assert r.status_code == 200 and r["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in r["Content-Disposition"] and "no-store" in r["Cache-Control"]
    assert names(read_csv(r)[1]) == {"一组客户", "二组客户"}

    r = post_export(client_for(world_a.admin))
    assert names(read_csv(r)[1]) == {"一组客户", "二组客户", "管理员自己的客户"}


@pytest.mark.django_db
def test_export_reuses_the_list_filters(world_a, client_for):
    make(world_a.rep1, "杭州云帆科技", industry="软件")
    make(world_a.rep1, "上海海鸥贸易", industry="贸易")
    make(world_a.rep2, "杭州青山制造", industry="软件")
    c = client_for(world_a.admin)
    assert names(read_csv(post_export(c, industry="软件"))[1]) == {"杭州云帆科技", "杭州青山制造"}
    assert names(read_csv(post_export(c, q="杭州", owner=world_a.rep2.pk))[1]) == {"杭州青山制造"}
    # Sorted as the list sorts.
    rows = read_csv(post_export(c, sort="name"))[1]
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    # The confirmation page counts the same rows.
    page = c.get(EXPORT, {"industry": "软件", "format": "xlsx"})
    assert page.status_code == 200 and page.context["count"] == 2 and page.context["fmt"] == "xlsx"
    in_english(world_a.admin)
    page = c.get(EXPORT, {"industry": "软件", "key_account": "false", "status": "potential"})
    assert page.context["summary"] == [("Status", "Potential"), ("Industry", "软件"), ("Key account", "No")]


@pytest.mark.django_db
def test_invalid_filters_export_nothing(world_a, world_b, client_for):
    make(world_a.rep1, "一组客户")
    c = client_for(world_a.admin)
    # Another tenant's owner id is not a valid choice: refused, rather than exporting the unfiltered list.
    r = post_export(c, owner=world_b.rep1.pk)
    assert r.status_code == 302 and r["Location"].startswith(EXPORT)
    assert not AuditEvent.objects.filter(action="customer.export").exists()
    assert c.get(EXPORT, {"owner": world_b.rep1.pk}).context["valid"] is False


@pytest.mark.django_db
def test_each_export_is_an_audit_event_with_filters_and_row_count(world_a, client_for):
    make(world_a.rep1, "一组客户", industry="软件")
    make(world_a.rep1, "另一个客户", industry="贸易")
    read_csv(post_export(client_for(world_a.manager), "csv", industry="软件", page=3))
    event = AuditEvent.objects.get(action="customer.export")
    assert event.tenant == world_a.tenant and event.actor == world_a.manager
    assert event.details == {"format": "csv", "filters": {"industry": ["软件"]}, "rows": 1, "job": None}


@pytest.mark.django_db
def test_confirmation_page_does_not_count_past_the_cap(world_a, client_for, settings, monkeypatch):
    settings.EXPORT_SYNC_LIMIT = 1
    monkeypatch.setattr("crm.exports.COUNT_CAP", 2)
    monkeypatch.setattr("customers.views.export.COUNT_CAP", 2)
    for i in range(4):
        make(world_a.rep1, f"客户{i}")
    r = client_for(world_a.admin).get(EXPORT)
    assert r.context["count"] == 3 and r.context["capped"] and r.context["as_job"]


# --- Excel-safe contents -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_csv_has_bom_neutralised_formulas_and_phones_as_text(world_a, client_for):
    # The admin's own customer: its phone and email are exported unmasked.
    customer = make(
        world_a.admin,
        '=HYPERLINK("http://evil.test","点我")',
        mobile="13812345678",
        industry="+cmd|' /C calc'!A0",
        region="-2+3",
        source="@SUM(1+1)",
        credit_code="913301001234567890",
    )
    contact = customer.contacts.get()
    contact.wechat = "-wx"
    contact.email = "li@a.test"
    contact.save()
    Customer.objects.filter(pk=customer.pk).update(last_followed_up_at=datetime(2024, 5, 1, 1, 30, tzinfo=UTC))

    raw, rows = read_csv(post_export(client_for(in_english(world_a.admin))))
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[:3] == ["Name", "Type", "Status"] and len(header) == len(CustomerExport.base_columns)
    assert row["Name"] == '\'=HYPERLINK("http://evil.test","点我")'
    assert row["Industry"] == "'+cmd|' /C calc'!A0"
    assert row["Region"] == "'-2+3"  # a formula, though it starts with a digit after the sign
    assert row["Source"] == "'@SUM(1+1)"
    assert row["WeChat ID"] == "'-wx"
    assert row["Mobile"] == "'+86 138 1234 5678"  # a spreadsheet would evaluate "+86 138…": kept text
    assert row["Unified social credit code"] == "\t913301001234567890"  # all digits: kept text by a leading tab
    assert row["Primary contact"].endswith("联系人") and row["Email"] == "li@a.test"
    assert row["Owner"] == world_a.admin.full_name and row["Pool"] and row["Key account"] == "No"
    assert row["Last follow-up"] == "2024-05-01 09:30"  # tenant-local (Asia/Shanghai)
    assert row["Type"] == "Company" and row["Status"] == "Potential"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("913301001234567890", "\t913301001234567890"),
        ("+8613812345678", "\t+8613812345678"),
        ("0571", "\t0571"),
        ("12345", "12345"),
        ("91330100MA27XY812X", "91330100MA27XY812X"),
    ],
)
def test_long_digit_values_stay_text_in_csv(value, expected):
    assert csv_cell(value) == expected


@pytest.mark.django_db
def test_csv_headers_follow_the_users_language(world_a, client_for):
    make(world_a.rep1, "一组客户")
    world_a.admin.language = "zh-hans"
    world_a.admin.save()
    rows = read_csv(post_export(client_for(world_a.admin)))[1]
    with translation.override("zh-hans"):
        assert rows[0] == [str(column.label) for column in CustomerExport.base_columns]
        assert rows[1][1] == str(Customer.Kind.COMPANY.label)


@pytest.mark.django_db
def test_xlsx_cells_are_typed_for_excel(world_a, client_for):
    customer = make(
        world_a.admin, "=cmd()", mobile="13812345678", credit_code="913301001234567890", is_key_account=True
    )
    Customer.objects.filter(pk=customer.pk).update(last_followed_up_at=datetime(2024, 5, 1, 1, 30, tzinfo=UTC))
    r = post_export(client_for(in_english(world_a.admin)), "xlsx")
    assert r.status_code == 200 and r["Content-Type"] == CONTENT_TYPES["xlsx"]
    assert r["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=True))
    assert cells["Name"].value == "'=cmd()" and cells["Name"].data_type == "s"
    for column in ("Mobile", "Unified social credit code"):
        assert cells[column].data_type == "s" and cells[column].number_format == "@"
    assert cells["Mobile"].value == "+86 138 1234 5678"
    assert cells["Unified social credit code"].value == "913301001234567890"
    assert cells["Key account"].value == "Yes"
    followed = cells["Last follow-up"]
    assert followed.is_date and followed.value == datetime(2024, 5, 1, 9, 30)  # tenant-local, naive
    assert cells["Created"].is_date


@pytest.mark.django_db
def test_export_queries_do_not_grow_with_rows(world_a, client_for, django_assert_max_num_queries):
    c = client_for(world_a.admin)
    for i in range(5):
        make(world_a.rep1, f"客户{i}", mobile=f"1380000{i:04d}")
    with django_assert_max_num_queries(20) as few:
        read_csv(post_export(c))
    for i in range(5, 50):
        make(world_a.rep1, f"客户{i}", mobile=f"1380000{i:04d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        _, rows = read_csv(post_export(c))
    assert len(rows) == 51
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = post_export(c, "xlsx")
    assert openpyxl.load_workbook(io.BytesIO(r.content)).active.max_row == 51


# --- large exports: a job through a real worker --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_large_export_is_a_job_run_by_a_real_worker(settings, media, celery_worker, client_for):
    settings.EXPORT_SYNC_LIMIT = 3
    world = build_world("X")
    other = build_world("Y")
    for i in range(4):
        make(world.rep1, f"大客户{i}", mobile=f"1390000{i:04d}")
    c = client_for(world.manager)

    r = post_export(c, "csv", sort="name")
    assert r.status_code == 302 and r["Location"] == reverse("customers:exports")
    job = ExportJob.objects.get()
    assert (
        job.tenant == world.tenant and job.created_by == world.manager and job.query == {"params": {"sort": ["name"]}}
    )

    assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE), "the worker did not run"
    job.refresh_from_db()
    assert job.row_count == 4 and job.file.name.startswith("exports/") and job.finished_at
    # The export's audit event is written with the file: exact row count, the asker as actor.
    audit = AuditEvent.objects.get(action="customer.export")
    assert audit.actor == world.manager and audit.object_id == str(job.pk)
    assert audit.details == {"format": "csv", "filters": {"sort": ["name"]}, "rows": 4, "job": job.pk}
    assert Notification.objects.filter(recipient=world.manager, key=f"export:{job.pk}").exists()

    page = c.get(reverse("customers:exports"))
    assert page.status_code == 200 and list(page.context["page"]) == [job]
    download = c.get(reverse("customers:export_download", args=[job.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    raw, rows = read_csv(download)
    assert raw.startswith(b"\xef\xbb\xbf") and [r[0] for r in rows[1:]] == [f"大客户{i}" for i in range(4)]
    assert AuditEvent.objects.filter(action="customer.export.download", object_id=str(job.pk)).exists()

    # An admin may download it too; a colleague who did not ask for it, and any user of another tenant, get 404.
    assert client_for(world.admin).get(reverse("customers:export_download", args=[job.pk])).status_code == 200
    colleague = UserFactory(tenant=world.tenant, team=world.sales, roles=[Role.MANAGER])
    for user in (colleague, other.admin, other.manager, other.rep1):
        assert client_for(user).get(reverse("customers:export_download", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_export_job_runs_once_and_writes_the_filtered_rows(world_a, media, django_capture_on_commit_callbacks):
    make(world_a.rep1, "软件客户", industry="软件")
    make(world_a.rep1, "贸易客户", industry="贸易")
    job = ExportJob.objects.create(
        tenant=world_a.tenant, created_by=world_a.manager, format="xlsx", query={"params": {"industry": ["软件"]}}
    )
    with django_capture_on_commit_callbacks(execute=False):
        done = export_run(job_id=job.pk)
    assert done.status == ExportJob.Status.DONE and done.row_count == 1
    with done.file.open("rb") as fh:
        sheet = openpyxl.load_workbook(fh).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["软件客户"]
    # Idempotent: a redelivered task finds the job claimed and does nothing.
    assert export_run(job_id=job.pk) is None


@pytest.mark.django_db
def test_export_job_fails_cleanly_when_its_creator_may_no_longer_export(world_a, media):
    job = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.manager, format="csv")
    world_a.manager.roles = [Role.REP]
    world_a.manager.save()
    job = export_run(job_id=job.pk)
    assert job.status == ExportJob.Status.FAILED and job.error and not job.file


@pytest.mark.django_db
def test_unfinished_export_is_not_downloadable(world_a, client_for):
    job = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.manager, format="csv")
    r = client_for(world_a.manager).get(reverse("customers:export_download", args=[job.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("customers:exports")


@pytest.mark.django_db
def test_exports_page_lists_own_exports_and_admin_sees_all(world_a, world_b, client_for):
    mine = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.manager, format="csv")
    admins = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.admin, format="csv")
    ExportJob.objects.create(tenant=world_b.tenant, created_by=world_b.admin, format="csv")
    assert list(client_for(world_a.manager).get(reverse("customers:exports")).context["page"]) == [mine]
    assert set(client_for(world_a.admin).get(reverse("customers:exports")).context["page"]) == {mine, admins}
    # Pending jobs make the rows poll (htmx fragment).
    r = client_for(world_a.manager).get(reverse("customers:exports"), HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 3s"' in r.content and b"<html" not in r.content


@pytest.mark.django_db
def test_old_exports_and_their_files_expire_with_the_nightly_task(world_a, media):
    job = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.admin, format="csv")
    job.file.save("old.csv", io.BytesIO(b"x"), save=True)
    fresh = ExportJob.objects.create(tenant=world_a.tenant, created_by=world_a.admin, format="csv")
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=EXPORT_KEEP_DAYS + 1))
    assert purge_tenant_trash(world_a.tenant.pk) == {"customers": 0, "exports": 1}
    assert list(ExportJob.objects.all()) == [fresh]
    assert not os.path.exists(path)


@pytest.mark.django_db
def test_a_redelivered_export_task_waits_for_the_running_copy_then_takes_over_a_dead_one(
    world_a, media, monkeypatch, django_capture_on_commit_callbacks
):
    make(world_a.rep1, "一组客户")
    job = ExportJob.objects.create(
        tenant=world_a.tenant, created_by=world_a.admin, format="csv", status=ExportJob.Status.RUNNING
    )
    retries = []

    def fake_retry(**kwargs):
        retries.append(kwargs)
        return RuntimeError("retry later")

    monkeypatch.setattr(run_export, "retry", fake_retry)
    with pytest.raises(RuntimeError):
        run_export(job.tenant_id, job.pk)
    assert retries[0]["countdown"] > STALE_RUNNING.total_seconds()
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING and not job.file

    # Its worker died long ago: the next copy takes the job over.
    ExportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - STALE_RUNNING - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=False):
        assert run_export(job.tenant_id, job.pk) == ExportJob.Status.DONE
    assert run_export(job.tenant_id, job.pk) == "skipped"


@pytest.mark.django_db
def test_phones_and_emails_of_customers_one_does_not_own_are_masked(world_a, client_for):
    mine = make(world_a.manager, "经理自己的客户", mobile="13912345678")
    theirs = make(world_a.rep1, "一组的客户", mobile="13812345678")
    for customer, email in ((mine, "wang@a.test"), (theirs, "li@a.test")):
        customer.contacts.update(email=email)
    _raw, rows = read_csv(post_export(client_for(in_english(world_a.manager))))
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_name["经理自己的客户"]["Mobile"] == "'+86 139 1234 5678"
    assert by_name["经理自己的客户"]["Email"] == "wang@a.test"
    assert by_name["一组的客户"]["Mobile"] == "138****5678"
    assert by_name["一组的客户"]["Email"] == "l***@a.test"
    # The export is on record: who, which filters, how many rows.
    event = AuditEvent.objects.get(action="customer.export", actor=world_a.manager)
    assert event.details["rows"] == 2


@pytest.mark.django_db
def test_my_exports_is_in_the_user_menu_of_those_who_export(world_a, client_for):
    link = f'href="{reverse("customers:exports")}" data-testid="user-menu-exports"'
    for user in (world_a.manager, world_a.admin):
        assert link in client_for(user).get(reverse("home")).content.decode()
    for user in (world_a.rep1, world_a.agent):
        assert 'data-testid="user-menu-exports"' not in client_for(user).get(reverse("home")).content.decode()
