"""The import machine whatever the kind: the preview is what the check stored (its pages read no file and run a
bounded number of queries), each step is claimed once, a check for an older mapping writes nothing, jobs nobody
works on are started again, the rejected rows are safe to open in a spreadsheet, kinds come from the registry and
the old per-app URLs redirect."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.imports import tasks
from crm.imports.models import ImportJob
from crm.imports.services import (
    PREVIEW_CELL,
    PREVIEW_ROWS,
    import_check,
    import_execute,
    import_map,
    import_start,
    import_upload,
    imports_recover,
    tenants_with_stalled_imports,
)
from crm.imports.views import kind_templates
from crm.locks import IMPORT_CHECK, IMPORT_JOB
from crm.registry import registry
from customers.imports.contact import ContactKind
from customers.imports.customer import CustomerKind
from customers.models import Customer
from customers.services.tenant import tenant_defaults
from sales.imports.lead import LeadKind

from .files import csv_bytes

HEADERS = ["客户名称", "手机", "备注"]


def rows(n):
    return [[f"第{i}号公司", f"139{i:08d}", "x" * 300] for i in range(n)]


@pytest.fixture
def world(world_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_defaults(tenant=world_a.tenant)
    for user in (world_a.admin, world_a.rep1):
        user.language = "en"
        user.save(update_fields=["language"])
    return world_a


def uploaded(user, data, name="客户.csv", kind=CustomerKind, destination=None) -> ImportJob:
    return import_upload(acting_user=user, kind=kind, uploaded=SimpleUploadedFile(name, data), destination=destination)


def checked(user, data, **extra) -> ImportJob:
    job = uploaded(user, data, **extra)
    return import_map(acting_user=user, job=job, columns=job.mapping)


def test_the_preview_pages_read_no_file_and_run_a_bounded_number_of_queries(
    world, client_for, monkeypatch, django_assert_max_num_queries
):
    client = client_for(world.rep1)
    small = checked(world.rep1, csv_bytes(HEADERS, rows(3)))
    large = checked(world.rep1, csv_bytes(HEADERS, rows(1500)))
    assert (small.total_rows, large.total_rows, large.summary["valid"]) == (3, 1500, 1500)
    assert len(large.preview["rows"]) == PREVIEW_ROWS
    # A preview cell keeps the start of a long value.
    assert len(large.preview["rows"][0]["values"]["notes"]) == PREVIEW_CELL

    def no_reading(*args, **kwargs):
        raise AssertionError("a page read the file")

    monkeypatch.setattr("crm.imports.services.job_sheet", no_reading)
    monkeypatch.setattr("crm.imports.services.read_sheet", no_reading)
    for job in (small, large):
        for name in ("preview", "mapping", "detail", "progress"):
            with django_assert_max_num_queries(12):
                response = client.get(reverse(f"imports:{name}", args=[job.pk]))
            assert response.status_code == 200, name
        with django_assert_max_num_queries(12):
            assert client.get(reverse("imports:preview", args=[job.pk]), {"page": "4"}).status_code == 200


def test_each_step_is_claimed_once(world, django_capture_on_commit_callbacks):
    admin = world.admin
    job = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    job = import_start(acting_user=admin, job=job)
    assert job.status == "done" and job.created_count == 3
    with pytest.raises(DomainError, match="This import has already been started."):
        import_start(acting_user=admin, job=job)
    with pytest.raises(DomainError, match="This import has already been started."):
        import_map(acting_user=admin, job=job, columns=job.mapping)
    assert Customer.objects.filter(tenant=world.tenant).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_check_for_an_older_mapping_writes_nothing(world, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    admin = world.admin
    job = uploaded(admin, csv_bytes(HEADERS, rows(5)))
    with django_capture_on_commit_callbacks(execute=False):
        first = import_map(acting_user=admin, job=job, columns={"name": 0, "mobile": 1}).check_token
        second = import_map(acting_user=admin, job=job, columns={"name": 0}).check_token
    assert import_check(job_id=job.pk, token=first) is None
    job.refresh_from_db()
    assert job.status == "checking" and job.check_token == second and job.summary == {}
    # The check of the first mapping may still be running: the second does not wait for it.
    with HeldLock(token=first):
        job = import_check(job_id=job.pk, token=second)
    assert job.status == "previewed" and job.total_rows == 5 and job.mapping == {"name": 0}
    # A copy of a check that is running already does nothing.
    with django_capture_on_commit_callbacks(execute=False):
        third = import_map(acting_user=admin, job=job, columns={"name": 0, "mobile": 1}).check_token
    with HeldLock(token=third):
        assert import_check(job_id=job.pk, token=third) is None
    assert ImportJob.objects.get(pk=job.pk).status == "checking"


def test_the_check_fails_when_the_uploader_can_no_longer_import(world, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    job = uploaded(world.rep1, csv_bytes(HEADERS, rows(5)))
    with django_capture_on_commit_callbacks(execute=False):
        job = import_map(acting_user=world.rep1, job=job, columns=job.mapping)
    world.rep1.is_active = False
    world.rep1.save(update_fields=["is_active"])
    assert import_check(job_id=job.pk, token=job.check_token) is None
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "The person who uploaded this file can no longer import."


# --- recovery ---------------------------------------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    """The tasks the services enqueue, recorded instead of sent."""
    calls = []
    # The outbox sends its calls with apply_async (crm.services.outbox).
    monkeypatch.setattr(tasks.run_import, "apply_async", lambda args, **options: calls.append(("run_import", *args)))
    monkeypatch.setattr(
        tasks.check_import, "apply_async", lambda args, **options: calls.append(("check_import", *args))
    )
    return calls


def stale(job, status, **extra):
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, updated_at=timezone.now() - dt.timedelta(hours=1), **extra
    )


class HeldLock:
    """A job's commit lock (or, with `token`, a check's lock) held by another connection, as a live commit or check
    holds it. (Tests using it commit for real: in a test's wrapping transaction the locks a check or commit takes
    would stay held by the test's own connection.)"""

    def __init__(self, job_id=None, *, token=None):
        if token is None:
            self.key = ("%s, %s", [IMPORT_JOB, job_id])
        else:
            self.key = ("%s, hashtext(%s)", [IMPORT_CHECK, token])
        self.taken, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.hold)

    def hold(self):
        args, params = self.key
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(f"SELECT pg_advisory_lock({args})", params)
                self.taken.set()
                self.release.wait(timeout=30)
                cursor.execute(f"SELECT pg_advisory_unlock({args})", params)
        finally:
            connections["default"].close()

    def __enter__(self):
        self.thread.start()
        assert self.taken.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_jobs_nobody_works_on_are_started_again(world, world_b, enqueued, django_capture_on_commit_callbacks):
    admin = world.admin
    crashed = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    lost = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    unchecked = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    checking = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    live = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    fresh = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    elsewhere = checked(world_b.admin, csv_bytes(HEADERS, rows(3)))
    stale(crashed, "running")  # its process died mid-commit: its transaction rolled back
    stale(lost, "queued")  # its task was lost
    stale(unchecked, "checking", check_token="t" * 32)
    stale(checking, "checking", check_token="c" * 32)  # its check is still running: its lock is held
    stale(live, "running")  # still running: its lock is held
    ImportJob.objects.filter(pk=fresh.pk).update(status="queued")  # just enqueued
    stale(elsewhere, "running")
    assert set(tenants_with_stalled_imports()) == {world.tenant.pk, world_b.tenant.pk}
    with HeldLock(live.pk), HeldLock(token="c" * 32), django_capture_on_commit_callbacks(execute=True):
        restarted = imports_recover(tenant_id=world.tenant.pk)
    assert sorted(restarted) == sorted([crashed.pk, lost.pk, unchecked.pk])
    assert sorted(enqueued) == sorted(
        [
            ("run_import", world.tenant.pk, crashed.pk),
            ("run_import", world.tenant.pk, lost.pk),
            ("check_import", world.tenant.pk, unchecked.pk, "t" * 32),
        ]
    )
    # The next sweep leaves those to their restarted tasks for a while (they were touched); the live ones are taken
    # once their holders let go of them without finishing (their worker died).
    with django_capture_on_commit_callbacks(execute=True):
        assert sorted(imports_recover(tenant_id=world.tenant.pk)) == sorted([live.pk, checking.pk])
    # The task a recovery enqueues finishes the crashed import (nothing of the lost run had been saved).
    assert tasks.run_import(world.tenant.pk, crashed.pk) == "done"
    crashed.refresh_from_db()
    assert crashed.created_count == 3 and Customer.objects.filter(name="第0号公司").count() == 1
    assert tasks.run_import(world.tenant.pk, crashed.pk) == "skipped"


@pytest.mark.django_db(transaction=True)
def test_a_running_import_is_not_run_twice(world):
    admin = world.admin
    job = checked(admin, csv_bytes(HEADERS, rows(3)), destination=str(admin.pk))
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    with HeldLock(job.pk):
        assert import_execute(job_id=job.pk) is None  # another copy holds the job
    assert not Customer.objects.filter(tenant=world.tenant).exists()
    assert ImportJob.objects.get(pk=job.pk).status == "running"


# --- rejected rows ------------------------------------------------------------------------------------------------


def test_rejected_rows_are_safe_to_open_and_come_back_as_typed(world, client_for):
    client = client_for(world.rep1)
    evil = [
        ['=HYPERLINK("http://evil")', "12345", "-2+3"],
        ["+cmd|' /C calc'!A0", "12345", "@SUM(1+1)"],
        ["-wx", "12345", "\t=1"],
        ["正常公司", "12345", "-5"],
    ]
    job = checked(world.rep1, csv_bytes(HEADERS, evil))
    content = client.get(reverse("imports:rejected", args=[job.pk])).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert [line[:3] for line in lines[1:]] == [
        ['\'=HYPERLINK("http://evil")', "12345", "'-2+3"],
        ["'+cmd|' /C calc'!A0", "12345", "'@SUM(1+1)"],
        ["'-wx", "12345", "'=1"],  # cells are read stripped: the tab went, the formula stays neutralised
        ["正常公司", "12345", "-5"],
    ]
    again = checked(world.rep1, content.encode("utf-8-sig"), name="again.csv")
    names = [row["values"]["name"] for row in again.preview["rows"]]
    assert names == ['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", "-wx", "正常公司"]


# --- kinds, templates, old URLs -----------------------------------------------------------------------------------


def test_kinds_come_from_the_registry(world):
    assert registry.import_kinds_for(world.rep1, menu="customers") == [CustomerKind, ContactKind]
    assert registry.import_kinds_for(world.rep1, menu="leads") == [LeadKind]
    assert registry.import_kinds_for(world.agent) == []
    assert registry.import_kind("lead") is LeadKind
    with pytest.raises(LookupError):
        registry.import_kind("ticket")
    # A kind overrides blocks of the shared templates from its own folder; the others use the shared ones.
    assert kind_templates(LeadKind)["preview"] == "sales/leads/import/preview.html"
    assert kind_templates(LeadKind)["mapping"] == "imports/mapping.html"
    assert kind_templates(CustomerKind)["preview"] == "imports/preview.html"


def test_a_job_of_a_kind_nobody_registers_is_not_found(world, client_for):
    job = checked(world.admin, csv_bytes(HEADERS, rows(1)))
    ImportJob.objects.filter(pk=job.pk).update(kind="ticket")
    assert client_for(world.admin).get(reverse("imports:detail", args=[job.pk])).status_code == 404


def test_old_import_urls_redirect_to_the_job(world, world_b, client_for):
    customer_job = checked(world.rep1, csv_bytes(HEADERS, rows(1)))
    lead_job = checked(world.rep1, csv_bytes(["姓名", "手机"], [["张三", "13900000000"]]), kind=LeadKind)
    ImportJob.objects.filter(pk=customer_job.pk).update(legacy_id=7)
    ImportJob.objects.filter(pk=lead_job.pk).update(legacy_id=7)
    client = client_for(world.rep1)
    for old, new in [
        ("/customers/import/7/", reverse("imports:detail", args=[customer_job.pk])),
        ("/customers/import/7/preview/", reverse("imports:preview", args=[customer_job.pk])),
        ("/customers/import/7/commit/", reverse("imports:detail", args=[customer_job.pk])),
        ("/customers/import/7/rejected.csv", reverse("imports:rejected", args=[customer_job.pk])),
        ("/leads/import/7/", reverse("imports:detail", args=[lead_job.pk])),
        ("/leads/import/7/mapping/", reverse("imports:mapping", args=[lead_job.pk])),
    ]:
        response = client.get(old)
        assert response.status_code == 302 and response["Location"] == new, old
    assert client.post("/customers/import/7/commit/")["Location"] == reverse("imports:detail", args=[customer_job.pk])
    assert ImportJob.objects.get(pk=customer_job.pk).status == "previewed"  # a redirect never starts an import
    assert client.get("/customers/import/7/nonsense/").status_code == 404
    assert client.get("/customers/import/8/").status_code == 404
    for outsider in (world_b.admin, world.rep2):
        assert client_for(outsider).get("/customers/import/7/").status_code == 404
