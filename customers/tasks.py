"""Celery tasks of the customers app (thin: ids in, a service call, nothing swallowed)."""

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from crm.services import outbox
from crm.tenancy import TenantTask
from customers.services import export
from customers.services.fallback import fallback_run, warn_run
from customers.services.fallback_date import fallback_at_refresh
from customers.services.trash import purge_trash

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=TenantTask, acks_late=True, max_retries=3, label=_("Customer export"))
def run_export(self, tenant_id: int, job_id: int) -> str:
    job = export.export_run(job_id=job_id)
    if job is not None:
        return job.status
    if export.export_is_running(job_id):
        # Another copy holds the job — or held it and died with its worker (a redelivery after a lost worker
        # lands here at once). Come back after the stale window: then either it is done, or this copy takes over.
        raise self.retry(countdown=int(export.STALE_RUNNING.total_seconds()) + 60)
    return "skipped"


@shared_task
def purge_trash_dispatch() -> int:
    """Nightly: one purge task per active tenant."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        outbox.enqueue(purge_tenant_trash, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Emptying the bin of old customers"))
def purge_tenant_trash(tenant_id: int) -> dict[str, int]:
    """Remove one tenant's customers deleted more than services.TRASH_DAYS ago, and its expired export files."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"customers": 0, "exports": 0}
    purged = purge_trash(tenant=tenant)
    expired = export.exports_expire(tenant=tenant)
    if purged or expired:
        logger.info("Tenant %s: purged %d customers, %d expired exports", tenant_id, purged, expired)
    return {"customers": purged, "exports": expired}


@shared_task
def fallback_to_pool() -> int:
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        outbox.enqueue(fallback_to_pool_for_tenant, tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Customers falling back to the pool"))
def fallback_to_pool_for_tenant(tenant_id: int) -> int:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    return fallback_run(tenant=tenant)


@shared_task
def warn_before_fallback() -> int:
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        outbox.enqueue(warn_before_fallback_for_tenant, tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Warnings before the fallback to the pool"))
def warn_before_fallback_for_tenant(tenant_id: int) -> dict:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    return warn_run(tenant=tenant)


@shared_task
def fallback_dates_dispatch() -> int:
    """Nightly: one check-and-repair of the stored fall-back dates per active tenant."""
    ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in ids:
        outbox.enqueue(fallback_dates_for_tenant, tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Customers' fall-back dates"))
def fallback_dates_for_tenant(tenant_id: int) -> int:
    """Recompute one tenant's stored fall-back dates, rewriting only those that differ (after a change of the
    company's time zone, and nightly as a safety net). Idempotent: a second run changes nothing."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    changed = fallback_at_refresh(tenant=tenant)
    if changed:
        logger.warning("Tenant %s: %d stored fall-back dates were out of date and were rewritten", tenant_id, changed)
    return changed
