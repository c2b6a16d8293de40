"""Celery tasks of imports: thin, they take a job id and call the services, whatever the job's kind.

All are idempotent. `check_import` writes its counts only while the job still carries its token (the mapping it
checked); `run_import` claims the job with a conditional UPDATE and runs under the job's transaction-scoped
advisory lock, so a redelivered or duplicated task finds it done, or locked by the copy that runs it, and does
nothing. `recover_imports` (beat) fans out one task per tenant that has a job nobody works on.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.imports import services
from crm.imports.progress import ProgressWriter
from crm.tenancy import TenantTask

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, acks_late=True, label=_("Import: checking a file"))
def check_import(tenant_id: int, job_id: int, token: str) -> str:
    """Classify every row of a large file after its columns were mapped (the preview's counts and rows)."""
    job = services.import_check(job_id=job_id, token=token, progress=ProgressWriter(job_id, token=token))
    logger.info("Import %s checked for tenant %s", job_id, job.tenant_id if job else "-")
    return job.status if job else "skipped"


@shared_task(base=TenantTask, acks_late=True, label=_("Import: saving the rows"))
def run_import(tenant_id: int, job_id: int) -> str:
    """Commit a large import in one transaction, its progress written outside it (progress.ProgressWriter)."""
    if not services.import_claim(job_id=job_id):
        return "skipped"
    job = services.import_execute(job_id=job_id, progress=ProgressWriter(job_id))
    if job is None:
        return "skipped"
    logger.info(
        "Import %s (%s) for tenant %s: %s, %s created, %s rejected",
        job_id,
        job.kind,
        job.tenant_id,
        job.status,
        job.created_count,
        job.rejected_count,
    )
    return job.status


@shared_task
def recover_imports() -> int:
    """Every few minutes (beat): one recovery task per tenant with a check or commit that has stopped moving."""
    tenant_ids = services.tenants_with_stalled_imports()
    for tenant_id in tenant_ids:
        recover_tenant_imports.delay(tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Import: restarting stalled imports"))
def recover_tenant_imports(tenant_id: int) -> int:
    """Start again one tenant's imports that nobody works on (their process died or their task was lost)."""
    return len(services.imports_recover(tenant_id=tenant_id))
