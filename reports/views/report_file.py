"""A large dashboard download prepared by a job: its page, its progress fragment (polled by htmx) and the file."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from crm.web import tenant_required
from reports.access import get_report_file_for_user, require_reports
from reports.exports import CONTENT_TYPES

PDF_TYPE = "application/pdf"


def _context(report_file) -> dict:
    return {"report_file": report_file, "retention_days": settings.REPORT_FILE_RETENTION_DAYS}


@tenant_required
def report_file_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_reports(request.user)
    report_file = get_report_file_for_user(request.user, pk)
    return render(request, "reports/report_file.html", _context(report_file))


@tenant_required
def report_file_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment: polls itself while the job runs, offers the download when done."""
    require_reports(request.user)
    report_file = get_report_file_for_user(request.user, pk)
    return render(request, "reports/partials/report_file_status.html", _context(report_file))


@tenant_required
def report_file_download(request: HttpRequest, pk: int) -> HttpResponse:
    require_reports(request.user)
    report_file = get_report_file_for_user(request.user, pk)
    if report_file.status == report_file.Status.EXPIRED:
        # Gone for good, and said so: the page explains that it was deleted and how to get it again.
        return render(request, "reports/report_file.html", _context(report_file), status=410)
    if report_file.status != report_file.Status.DONE or not report_file.file:
        raise Http404
    content_type = PDF_TYPE if report_file.format == "pdf" else CONTENT_TYPES[report_file.format]
    response = FileResponse(
        report_file.file.open("rb"), as_attachment=True, filename=report_file.filename, content_type=content_type
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
