"""Celery tasks for customer exports and the nightly recycle-bin purge.

Thin: ids in, a service call, nothing swallowed. The nightly purge fans out one task per tenant, so tenants run in
parallel and one tenant's failure does not stop the others; every task is idempotent (a second run finds nothing
left to purge, a second copy of an export finds the job already claimed).

Beat entry (crm/celery.py):
    "customers-purge-trash-nightly": {
        "task": "customers.export_jobs.purge_trash_dispatch",
        "schedule": crontab(hour=3, minute=30),  # CELERY_TIMEZONE is UTC
    },
"""

from __future__ import annotations

import logging

from celery import shared_task

from crm.models import Tenant
from crm.tenancy import TenantTask

from . import exporter, services

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=TenantTask, acks_late=True, max_retries=3)
def run_export(self, tenant_id: int, job_id: int) -> str:
    job = exporter.export_run(job_id=job_id)
    if job is not None:
        return job.status
    if exporter.export_is_running(job_id):
        # Another copy holds the job — or held it and died with its worker (a redelivery after a lost worker
        # lands here at once). Come back after the stale window: then either it is done, or this copy takes over.
        raise self.retry(countdown=int(exporter.STALE_RUNNING.total_seconds()) + 60)
    return "skipped"


@shared_task
def purge_trash_dispatch() -> int:
    """Nightly: one purge task per active tenant."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        purge_tenant_trash.delay(tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True)
def purge_tenant_trash(tenant_id: int) -> dict[str, int]:
    """Remove one tenant's customers deleted more than services.TRASH_DAYS ago, and its expired export files."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"customers": 0, "exports": 0}
    purged = services.purge_trash(tenant=tenant)
    expired = exporter.exports_expire(tenant=tenant)
    if purged or expired:
        logger.info("Tenant %s: purged %d customers, %d expired exports", tenant_id, purged, expired)
    return {"customers": purged, "exports": expired}
