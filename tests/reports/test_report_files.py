"""Large dashboard downloads run as a job: queued through the outbox, built and stored once (a rerun is harmless),
their progress polled on a small fragment, and downloadable only by their requester."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import OutboxTask
from reports.models import ReportFile
from reports.services.report_file import report_file_build
from tests.sales.helpers import make_customer

from .builders import bulk_deals

pytestmark = pytest.mark.django_db


@pytest.fixture
def large(world, settings):
    """Three opportunities in scope, over a direct-download limit of two."""
    settings.REPORT_FILE_SYNC_LIMIT = 2
    bulk_deals(world.rep1, make_customer(world.rep1, "大客户"), 3)
    return world


def test_a_large_export_is_queued_built_once_and_downloaded_by_its_requester(large, client_for):
    world = large
    c = client_for(world.manager)
    response = c.get(reverse("reports:export"), {"dashboard": "team", "format": "csv", "period": "month"})
    report_file = ReportFile.objects.get(created_by=world.manager)
    assert response.status_code == 302 and response["Location"] == reverse("reports:file", args=[report_file.pk])
    assert report_file.status == ReportFile.Status.QUEUED and report_file.format == "csv"
    assert OutboxTask.objects.filter(task="reports.tasks.build_report_file", args=[world.tenant.pk, report_file.pk])
    # The same download asked again (a second click, a reload) opens the same file, no second job.
    again = c.get(reverse("reports:export"), {"dashboard": "team", "format": "csv", "period": "month"})
    assert again["Location"] == response["Location"] and ReportFile.objects.count() == 1

    waiting = c.get(reverse("reports:file_status", args=[report_file.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in waiting and "<progress" in waiting

    built = report_file_build(file_id=report_file.pk)
    assert built.status == ReportFile.Status.DONE and built.progress == 100 and built.file
    stored = built.file.name
    # A second run (a redelivered task) finds nothing to do and keeps the file.
    assert report_file_build(file_id=report_file.pk) is None
    assert ReportFile.objects.get(pk=report_file.pk).file.name == stored

    ready = c.get(reverse("reports:file_status", args=[report_file.pk])).content.decode()
    assert "every 2s" not in ready and 'data-testid="report-file-download"' in ready
    download = c.get(reverse("reports:file_download", args=[report_file.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert built.filename.endswith(".csv") and b"".join(download.streaming_content)


def test_only_the_requester_sees_the_file(large, world_b, client_for):
    world = large
    c = client_for(world.manager)
    c.get(reverse("reports:export"), {"dashboard": "team", "format": "xlsx", "period": "month"})
    report_file = ReportFile.objects.get(created_by=world.manager)
    report_file_build(file_id=report_file.pk)
    for other in (world.admin, world.rep1, world_b.admin, world_b.manager):
        other_client = client_for(other)
        for name in ("reports:file", "reports:file_status", "reports:file_download"):
            assert other_client.get(reverse(name, args=[report_file.pk])).status_code == 404, (other, name)
    assert c.get(reverse("reports:file_download", args=[report_file.pk])).status_code == 200


def test_a_large_pdf_is_a_job_and_a_small_one_downloads_at_once(large, client_for, settings):
    world = large
    c = client_for(world.manager)
    queued = c.get(reverse("reports:pdf"), {"dashboard": "activity", "period": "month"})
    assert queued.status_code == 302
    report_file = ReportFile.objects.get(created_by=world.manager, format="pdf")
    built = report_file_build(file_id=report_file.pk)
    assert built.status == ReportFile.Status.DONE
    assert b"".join(c.get(reverse("reports:file_download", args=[report_file.pk])).streaming_content).startswith(
        b"%PDF"
    )
    settings.REPORT_FILE_SYNC_LIMIT = 100
    direct = c.get(reverse("reports:export"), {"dashboard": "team", "format": "csv", "period": "month"})
    assert direct.status_code == 200 and ReportFile.objects.count() == 1


def test_the_file_page_runs_a_bounded_number_of_queries(large, client_for, django_assert_max_num_queries):
    world = large
    c = client_for(world.manager)
    for fmt in ("csv", "xlsx"):
        c.get(reverse("reports:export"), {"dashboard": "team", "format": fmt, "period": "month"})
    report_file = ReportFile.objects.filter(created_by=world.manager).first()
    with django_assert_max_num_queries(15):
        page = c.get(reverse("reports:file", args=[report_file.pk]))
    assert page.status_code == 200 and 'data-testid="report-file-status"' in page.content.decode()
