"""Prepared report files expire: REPORT_FILE_RETENTION_DAYS after they were finished a daily job (one task per
tenant) marks them expired, audits it, and deletes their stored files only once that commits; a rerun does
nothing more; the page and the download of an expired file say it was deleted (410), and another company's file
stays a 404."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm.files import file_save
from crm.models import AuditEvent, OutboxTask
from reports import tasks
from reports.models import ReportFile
from reports.services.report_file import EXPIRED_ROW_KEPT, report_files_expire

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.REPORT_FILE_RETENTION_DAYS = 7
    return tmp_path


def prepared(user, *, days_ago: float, status=ReportFile.Status.DONE) -> ReportFile:
    report_file = ReportFile.objects.create(
        tenant=user.tenant,
        created_by=user,
        dashboard="team",
        format="csv",
        status=status,
        progress=100,
        filename="team.csv",
        finished_at=NOW - dt.timedelta(days=days_ago),
    )
    if status == ReportFile.Status.DONE:
        file_save(report_file.file, f"team-{report_file.pk}.csv", ContentFile(b"person,won\n"))
        report_file.save(update_fields=["file"])
    return report_file


def stored(report_file: ReportFile, media: Path) -> bool:
    return bool(report_file.file) and (media / report_file.file.name).exists()


def test_old_files_expire_once_with_their_stored_files_deleted_after_commit(
    world, media, django_capture_on_commit_callbacks
):
    old, fresh = prepared(world.manager, days_ago=8), prepared(world.manager, days_ago=6)
    failed = prepared(world.manager, days_ago=10, status=ReportFile.Status.FAILED)
    running = ReportFile.objects.create(
        tenant=world.tenant, created_by=world.manager, dashboard="team", format="csv", status="running"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert report_files_expire(tenant_id=world.tenant.pk, now=NOW) == 2
    statuses = dict(ReportFile.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "expired", fresh.pk: "done", failed.pk: "expired", running.pk: "running"}
    assert not (media / old.file.name).exists() and stored(fresh, media)
    assert ReportFile.objects.get(pk=old.pk).file.name == ""
    event = AuditEvent.objects.get(tenant=world.tenant, action="reports.files_expire")
    assert event.details["count"] == 2 and sorted(event.details["items"]) == sorted([old.pk, failed.pk])
    # A second run finds nothing to do and writes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert report_files_expire(tenant_id=world.tenant.pk, now=NOW) == 0
    assert AuditEvent.objects.filter(action="reports.files_expire").count() == 1


def test_a_rolled_back_run_deletes_no_file(world, media, django_capture_on_commit_callbacks):
    old = prepared(world.manager, days_ago=8)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            report_files_expire(tenant_id=world.tenant.pk, now=NOW)
            raise RuntimeError("the run failed after the update")
    assert callbacks == []
    assert ReportFile.objects.get(pk=old.pk).status == "done" and stored(old, media)


def test_expired_rows_are_deleted_after_a_while_and_only_the_tenants_own(world, world_b):
    mine, theirs = prepared(world.manager, days_ago=60), prepared(world_b.manager, days_ago=60)
    report_files_expire(tenant_id=world.tenant.pk, now=NOW)
    later = NOW + EXPIRED_ROW_KEPT + dt.timedelta(days=1)
    ReportFile.objects.filter(pk=mine.pk).update(updated_at=NOW)
    report_files_expire(tenant_id=world.tenant.pk, now=later)
    assert not ReportFile.objects.filter(pk=mine.pk).exists()
    assert ReportFile.objects.get(pk=theirs.pk).status == "done"


def test_the_page_and_download_of_an_expired_file_say_it_was_deleted(world, world_b, client_for):
    old = prepared(world.manager, days_ago=8)
    report_files_expire(tenant_id=world.tenant.pk, now=NOW)
    c = client_for(world.manager)
    download = c.get(reverse("reports:file_download", args=[old.pk]))
    assert download.status_code == 410
    assert "This file was deleted: prepared reports are kept for 7 days." in download.content.decode()
    page = c.get(reverse("reports:file", args=[old.pk])).content.decode()
    assert 'data-testid="report-file-expired"' in page and 'hx-trigger="every 2s"' not in page
    # Another company's manager, or a colleague who did not ask for it: 404 as for any file not theirs.
    assert client_for(world_b.manager).get(reverse("reports:file_download", args=[old.pk])).status_code == 404
    assert client_for(world.admin).get(reverse("reports:file_download", args=[old.pk])).status_code == 404


def test_the_daily_job_fans_out_to_tenants_with_finished_files(world, world_b, django_capture_on_commit_callbacks):
    prepared(world.manager, days_ago=1)
    with django_capture_on_commit_callbacks():
        assert tasks.expire_report_files() == 1
    queued = OutboxTask.objects.filter(task=tasks.expire_tenant_report_files.name)
    assert [row.args for row in queued] == [[world.tenant.pk]]
    assert tasks.expire_tenant_report_files(world.tenant.pk) == 0  # nothing old enough yet (today's clock)
    ReportFile.objects.update(finished_at=timezone.now() - dt.timedelta(days=8))
    assert tasks.expire_tenant_report_files(world.tenant.pk) == 1
