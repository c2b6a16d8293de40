"""Large reports as a job: a dashboard's PDF, CSV or XLSX over more opportunities than REPORT_FILE_SYNC_LIMIT is
built by a worker and stored (crm.files.file_save); the page polls its progress and offers the download when done.

Running the job twice is harmless: only a queued row (or one left running by a worker that died) is claimed, by a
conditional UPDATE, so a second run finds nothing to do and a finished file is never built again.

Files expire: `report_files_expire` (a daily job per tenant) deletes the stored files REPORT_FILE_RETENTION_DAYS
after they were finished, once its transaction commits, and keeps the row marked expired for a while so its page
says so."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone, translation

from crm.files import file_save
from crm.models import Tenant, User
from crm.services import outbox
from crm.services.audit import audit
from reports import exports
from reports.models import ReportFile
from reports.pdf import dashboard_pdf, pdf_filename
from reports.selectors.dashboard import dashboard_data

logger = logging.getLogger(__name__)

# A row still "running" after this long was left by a worker that died: the next run takes it over.
STALE_RUNNING = timedelta(minutes=30)


def sync_limit() -> int:
    """Above this many opportunities in scope, a dashboard's download is a job."""
    return getattr(settings, "REPORT_FILE_SYNC_LIMIT", 5000)


# The same download asked again within this time (a second click, a reload) opens the file already asked for.
REUSE_WITHIN = timedelta(minutes=10)


def report_file_request(*, acting_user: User, dashboard: str, fmt: str, query: str) -> ReportFile:
    """Queue the build of `dashboard` as `fmt` with the page's filters (`query`, its query string); the same request
    of the same person still queued, running, or done in the last minutes is that file, not a second job."""
    query = query[:1000]
    same = ReportFile.objects.filter(
        tenant_id=acting_user.tenant_id, created_by=acting_user, dashboard=dashboard, format=fmt, query=query
    )
    recent = same.filter(
        Q(status__in=[ReportFile.Status.QUEUED, ReportFile.Status.RUNNING])
        | Q(status=ReportFile.Status.DONE, finished_at__gte=timezone.now() - REUSE_WITHIN)
    ).order_by("-created_at", "-pk")
    if (existing := recent.first()) is not None:
        return existing
    with transaction.atomic():
        report_file = ReportFile.objects.create(
            tenant=acting_user.tenant, created_by=acting_user, dashboard=dashboard, format=fmt, query=query
        )
        from reports import tasks  # the tasks module imports the services

        outbox.enqueue(tasks.build_report_file, report_file.tenant_id, report_file.pk)
    return report_file


def _progress(report_file: ReportFile, percent: int) -> None:
    ReportFile.objects.filter(pk=report_file.pk).update(progress=percent, updated_at=timezone.now())


def report_file_build(*, file_id: int) -> ReportFile | None:
    """Build the file of one queued row; None when there was nothing to do (already built, or being built)."""
    now = timezone.now()
    claimable = Q(status=ReportFile.Status.QUEUED) | Q(
        status=ReportFile.Status.RUNNING, updated_at__lt=now - STALE_RUNNING
    )
    claimed = ReportFile.objects.filter(claimable, pk=file_id).update(
        status=ReportFile.Status.RUNNING, progress=5, updated_at=now
    )
    if not claimed:
        return None
    report_file = ReportFile.objects.select_related("tenant", "created_by").get(pk=file_id)
    user = report_file.created_by
    try:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            data = dashboard_data(user, report_file.dashboard, QueryDict(report_file.query))
            if data.report is None:
                raise ValueError("the filters are no longer valid")
            _progress(report_file, 60)
            if report_file.format == "pdf":
                body, name = dashboard_pdf(data, user=user), pdf_filename(data)
            else:
                body = exports.write_xlsx(data) if report_file.format == "xlsx" else exports.write_csv(data)
                name = f"{pdf_filename(data).removesuffix('.pdf')}.{report_file.format}"
            _progress(report_file, 90)
        with transaction.atomic():
            locked = ReportFile.objects.select_for_update().get(pk=file_id)
            file_save(locked.file, f"{report_file.dashboard}-{report_file.pk}.{report_file.format}", ContentFile(body))
            locked.filename, locked.status, locked.progress = name, ReportFile.Status.DONE, 100
            locked.finished_at = timezone.now()
            locked.save(update_fields=["file", "filename", "status", "progress", "finished_at", "updated_at"])
    except Exception as exc:  # the requester sees that it failed; the log keeps why
        logger.exception("Report file %s failed", file_id)
        ReportFile.objects.filter(pk=file_id).update(
            status=ReportFile.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now(), updated_at=timezone.now()
        )
    return ReportFile.objects.get(pk=file_id)


# An expired file's row is kept this long after its file was deleted, so its page says "expired" rather than 404.
EXPIRED_ROW_KEPT = timedelta(days=30)


def _files_delete(storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # the row is already expired; a file that cannot be removed is only logged
            logger.exception("Report file %s could not be deleted", name)
    if names:
        logger.info("Deleted %s expired report files", len(names))


def report_files_expire(*, tenant_id: int, now: datetime | None = None) -> int:
    """Expire the tenant's report files finished more than REPORT_FILE_RETENTION_DAYS ago: the rows are marked
    expired (under row locks skipped by a concurrent run, so each row is expired once) and audited in one event, and
    their stored files are deleted after the commit (never while a rollback could still bring the rows back). Rows
    expired EXPIRED_ROW_KEPT ago are deleted. Returns the number of files expired; a second run finds none."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_FILE_RETENTION_DAYS)
    storage = ReportFile._meta.get_field("file").storage
    with transaction.atomic():
        due = list(
            ReportFile.objects.select_for_update(skip_locked=True)
            .filter(
                tenant_id=tenant_id,
                status__in=[ReportFile.Status.DONE, ReportFile.Status.FAILED],
                finished_at__lt=cutoff,
            )
            .order_by("pk")
            .values_list("pk", "file")
        )
        if due:
            ReportFile.objects.filter(tenant_id=tenant_id, pk__in=[pk for pk, _name in due]).update(
                status=ReportFile.Status.EXPIRED, file="", progress=0, updated_at=now
            )
            names = [name for _pk, name in due if name]
            transaction.on_commit(lambda: _files_delete(storage, names))
            audit(
                tenant=Tenant.objects.get(pk=tenant_id),
                actor=None,
                action="reports.files_expire",
                details={"count": len(due), "items": [pk for pk, _name in due]},
            )
        ReportFile.objects.filter(
            tenant_id=tenant_id, status=ReportFile.Status.EXPIRED, updated_at__lt=now - EXPIRED_ROW_KEPT
        ).delete()
    return len(due)
