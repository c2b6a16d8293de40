"""Celery tasks for customer imports: thin, take a job id, call the importer.

Both are idempotent. `check_import` writes its counts only while the job still carries its token (the mapping it
checked); `run_import` claims the job with a conditional UPDATE and runs under a transaction-scoped advisory lock,
so a redelivered or duplicated task finds it done, or locked by the copy that runs it, and does nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task

from crm.tenancy import TenantTask

from . import importer
from .models import ImportJob

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, acks_late=True)
def check_import(tenant_id: int, job_id: int, token: str) -> str:
    """Classify every row of a large file after its columns were mapped (the preview's counts)."""
    job = importer.import_check(job_id=job_id, token=token, progress=importer.ProgressWriter(job_id))
    logger.info("Import %s checked for tenant %s", job_id, job.tenant_id if job else "-")
    return job.status if job else "skipped"


@shared_task(base=TenantTask, acks_late=True)
def run_import(tenant_id: int, job_id: int) -> str:
    """Commit a large import in one transaction, its progress written outside it (see importer.ProgressWriter)."""
    # Queued → running; a redelivered task (worker lost mid-import: the import's transaction rolled back) finds it
    # running and runs it again; a finished or failed job is left alone.
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING)
    if not claimed:
        return "skipped"
    job = importer.import_execute(job_id=job_id, progress=importer.ProgressWriter(job_id))
    if job is None:
        return "skipped"
    logger.info(
        "Import %s for tenant %s: %s, %s created, %s rejected",
        job_id,
        job.tenant_id,
        job.status,
        job.created_count,
        job.rejected_count,
    )
    return job.status
