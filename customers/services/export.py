"""Exports of the lists (customers, and the kinds later apps register: leads, opportunities, tickets) as CSV or
XLSX: the request, its audit, and the background job that writes a large export into media storage.

What a file holds and how its cells are made safe is `crm.exports` (one `ExportKind` per kind of record); this
module decides, for every kind alike, whether the rows are streamed now (up to `crm.exports.sync_limit()`) or
written by the job (`ExportJob`, run by `customers.tasks.run_export`), and writes the audit event of each export
with its filters and exact row count.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.exports import FORMATS, ExportKind, count_capped, filter_params, params_querydict, sync_limit, write
from crm.files import file_save
from crm.models import Tenant, User
from crm.registry import registry
from crm.services import outbox
from crm.services.audit import audit
from crm.services.notification import notify
from customers import tasks
from customers.models import ExportJob

logger = logging.getLogger(__name__)


EXPORT_KEEP_DAYS = 7


# A job left "running" this long was lost with its worker; a redelivered task may take it over.
STALE_RUNNING = timedelta(minutes=30)


@dataclass
class ExportPlan:
    """What an export request turned into: rows to stream now, or a job the worker runs."""

    fmt: str
    kind: type[ExportKind]
    queryset: QuerySet
    rows: int
    job: ExportJob | None = None


def records_export(*, acting_user: User, kind: str, params: QueryDict, fmt: str, request: Any = None) -> ExportPlan:
    """Export the filtered list of `kind` (an export kind's key). Only those the kind lets export; every export
    is an audit event with its filters and exact row count. Up to sync_limit() rows the caller streams the file
    and the event is written now; above, an ExportJob is queued after commit and the worker writes the event when
    the file exists."""
    export_kind = registry.export_kind(kind)
    export_kind.require_export(acting_user)
    if fmt not in FORMATS:
        raise DomainError(_("Choose CSV or Excel."), field="format")
    queryset = export_kind.filtered(user=acting_user, params=params, request=request)
    count = count_capped(queryset)
    filters = filter_params(params)
    with transaction.atomic():
        if count > sync_limit():
            job = ExportJob.objects.create(
                tenant_id=acting_user.tenant_id,
                created_by=acting_user,
                kind=kind,
                format=fmt,
                query={"params": filters},
            )
            _enqueue(job.tenant_id, job.pk)
            return ExportPlan(fmt=fmt, kind=export_kind, queryset=queryset, rows=count, job=job)
        _audit_export(acting_user, export_kind, fmt=fmt, filters=filters, rows=count)
    return ExportPlan(fmt=fmt, kind=export_kind, queryset=queryset, rows=count)


def customer_export(*, acting_user: User, params: QueryDict, fmt: str, request: Any = None) -> ExportPlan:
    """Export the filtered customer list (records_export of the kind `customer`)."""
    return records_export(acting_user=acting_user, kind="customer", params=params, fmt=fmt, request=request)


def _audit_export(
    user: User, kind: type[ExportKind], *, fmt: str, filters: dict, rows: int, job: ExportJob | None = None
) -> None:
    audit(
        tenant=user.tenant,
        actor=user,
        action=kind.export_action,
        obj=job,
        details={"format": fmt, "filters": filters, "rows": rows, "job": job.pk if job else None},
    )


def _enqueue(tenant_id: int, job_id: int) -> None:
    outbox.enqueue(tasks.run_export, tenant_id, job_id)


def export_run(*, job_id: int) -> ExportJob | None:
    """Write a queued export's file into media storage. Claimed by a conditional UPDATE, so two copies of the
    task never both write it; a job whose worker died long ago may be taken over. Returns None when there was
    nothing to do."""
    now = timezone.now()
    claimable = Q(status=ExportJob.Status.QUEUED) | Q(
        status=ExportJob.Status.RUNNING, updated_at__lt=now - STALE_RUNNING
    )
    won = ExportJob.objects.filter(claimable, pk=job_id).update(status=ExportJob.Status.RUNNING, updated_at=now)
    if not won:
        return None
    job = ExportJob.objects.select_related("tenant", "created_by").get(pk=job_id)
    user = job.created_by
    export_kind = registry.export_kind(job.kind)
    language = user.effective_language if user is not None else settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            if user is None or not export_kind.can_export(user) or user.tenant_id != job.tenant_id:
                raise DomainError(_("The person who asked for this export may no longer export this list."))
            queryset = export_kind.filtered(user=user, params=params_querydict(job.query.get("params", {})))
            writer = export_kind(tenant_id=job.tenant_id, viewer_id=user.pk, tz=job.tenant.tzinfo)
            with tempfile.TemporaryFile() as tmp:
                count = write(job.format, writer, queryset, tmp)
                tmp.seek(0)
                file_save(
                    job.file, f"{export_kind.filename_prefix}-{job.pk}-{secrets.token_hex(8)}.{job.format}", File(tmp)
                )
            title = export_kind.wording(count)["ready"]
    except Exception as exc:
        with translation.override(language):
            failed = _("The export failed; try again or ask an admin.")
        message = exc.message if isinstance(exc, DomainError) else failed
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
        )
        if isinstance(exc, DomainError):
            logger.info("Export %s of tenant %s refused: %s", job.pk, job.tenant_id, message)
            job.refresh_from_db()
            return job
        raise
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.DONE,
            file=job.file.name,
            row_count=count,
            error="",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        _audit_export(user, export_kind, fmt=job.format, filters=job.query.get("params", {}), rows=count, job=job)
        # In the same transaction: whoever sees the job done sees its notification too.
        notify(
            recipient=user,
            title=title,
            url=reverse("customers:exports"),
            key=f"export:{job.pk}",
            email=False,
        )
    return job


def export_is_running(job_id: int) -> bool:
    return ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).exists()


def exports_expire(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Delete exports (and their files, which hold customer data) older than EXPORT_KEEP_DAYS."""
    now = now or timezone.now()
    old = list(ExportJob.objects.for_tenant(tenant).filter(created_at__lt=now - timedelta(days=EXPORT_KEEP_DAYS)))
    for job in old:
        if job.file:
            job.file.delete(save=False)
    ExportJob.objects.filter(pk__in=[job.pk for job in old]).delete()
    return len(old)
