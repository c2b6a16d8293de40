"""Thin Celery tasks of the sales app: they take ids and call services."""

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.tenancy import TenantTask
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


@shared_task(base=TenantTask, acks_late=True, label=_("Task reminders"))
def send_tenant_reminders(tenant_id: int) -> int:
    """One tenant's due reminders. Idempotent: a rerun, or two copies at once, sends each reminder once."""
    return reminders_send_due(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True, label=_("Recomputing lead scores"))
def recompute_lead_scores(tenant_id: int) -> int:
    """Rescore one tenant's leads after its scoring rules changed. Idempotent: a rerun gives the same scores."""
    return lead_scoring.lead_scores_recompute(tenant_id=tenant_id)
