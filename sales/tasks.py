"""Thin Celery tasks of the sales app: they take ids and call services."""

import logging

from celery import shared_task

from crm.tenancy import TenantTask
from sales.models import LeadImport
from sales.services import lead_scoring
from sales.services.reminder import reminders_send_due, tenants_with_due_reminders

logger = logging.getLogger(__name__)


@shared_task
def send_due_reminders() -> int:
    """Every minute (beat): enqueue one reminder run per tenant that has due reminders, so tenants run in parallel
    on many workers and one tenant's failure does not hold up the others."""
    tenant_ids = tenants_with_due_reminders()
    for tenant_id in tenant_ids:
        send_tenant_reminders.delay(tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True)
def send_tenant_reminders(tenant_id: int) -> int:
    """One tenant's due reminders. Idempotent: a rerun, or two copies at once, sends each reminder once."""
    return reminders_send_due(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True)
def recompute_lead_scores(tenant_id: int) -> int:
    """Rescore one tenant's leads after its scoring rules changed. Idempotent: a rerun gives the same scores."""
    return lead_scoring.lead_scores_recompute(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True)
def check_lead_import(tenant_id: int, job_id: int, token: str) -> str:
    """Classify every row of a large lead file after its columns were mapped (the preview's counts)."""
    # The lead import imports the lead services, which enqueue this module's tasks: it is loaded when a job runs.
    # (It moves onto the shared import framework, whose tasks live with it.)
    from sales import lead_import

    job = lead_import.lead_import_check(job_id=job_id, token=token, progress=lead_import.progress_writer(job_id))
    logger.info("Lead import %s checked for tenant %s", job_id, job.tenant_id if job else "-")
    return job.status if job else "skipped"


@shared_task(base=TenantTask, acks_late=True)
def run_lead_import(tenant_id: int, job_id: int) -> str:
    """Commit a large lead import in one transaction, its progress written outside it. A redelivered task finds
    the job running (the worker died: its transaction rolled back) and runs it again; a finished one is left."""
    from sales import lead_import

    claimed = LeadImport.objects.filter(
        pk=job_id, status__in=[LeadImport.Status.QUEUED, LeadImport.Status.RUNNING]
    ).update(status=LeadImport.Status.RUNNING)
    if not claimed:
        return "skipped"
    job = lead_import.lead_import_execute(job_id=job_id, progress=lead_import.progress_writer(job_id))
    if job is None:
        return "skipped"
    logger.info(
        "Lead import %s for tenant %s: %s, %s created (%s duplicates), %s rejected",
        job_id,
        job.tenant_id,
        job.status,
        job.created_count,
        job.duplicate_count,
        job.rejected_count,
    )
    return job.status
