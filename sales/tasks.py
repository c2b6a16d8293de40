"""Thin Celery tasks of the sales app: they take ids and call services."""

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from crm.services import outbox
from crm.tenancy import TenantTask
from sales.services import lead_scoring, payment, quote
from sales.services.lead_fallback import lead_fallback_run, lead_warn_run
from sales.services.reminder import reminders_send_due, tenants_with_due_reminders

logger = logging.getLogger(__name__)


@shared_task
def send_due_reminders() -> int:
    """Every minute (beat): enqueue one reminder run per tenant that has due reminders, so tenants run in parallel
    on many workers and one tenant's failure does not hold up the others."""
    tenant_ids = tenants_with_due_reminders()
    for tenant_id in tenant_ids:
        outbox.enqueue(send_tenant_reminders, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Task reminders"))
def send_tenant_reminders(tenant_id: int) -> int:
    """One tenant's due reminders. Idempotent: a rerun, or two copies at once, sends each reminder once."""
    return reminders_send_due(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True, label=_("Recomputing lead scores"))
def recompute_lead_scores(tenant_id: int) -> int:
    """Rescore one tenant's leads after its scoring rules changed. Idempotent: a rerun gives the same scores."""
    return lead_scoring.lead_scores_recompute(tenant_id=tenant_id)


@shared_task
def send_contract_reminders() -> int:
    """Hourly (beat): one run per active tenant of the overdue-instalment and renewal reminders, each on the
    tenant's local date; the per-tenant task tells each instalment step and each contract once."""
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        outbox.enqueue(send_tenant_contract_reminders, tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Overdue payments and contract renewals"))
def send_tenant_contract_reminders(tenant_id: int) -> int:
    """One tenant's overdue and renewal reminders, and its sent quotes past their validity marked expired.
    Idempotent: a rerun, or two copies at once, tells each once and expires each quote once."""
    expired = quote.quotes_expire(tenant_id=tenant_id)
    return expired + payment.contract_reminders_send(tenant_id=tenant_id)


@shared_task
def lead_fallback_to_pool() -> int:
    """Hourly (beat): one lead fall-back run and one warning run per active tenant."""
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        outbox.enqueue(lead_fallback_to_pool_for_tenant, tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Leads falling back to the lead pool"))
def lead_fallback_to_pool_for_tenant(tenant_id: int) -> dict[str, int]:
    """One tenant's due leads back to their lead pools, then the warnings (once a day, after 09:00 local).
    Idempotent: a rerun moves nothing more and warns nobody twice."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"moved": 0, "warned": 0}
    return {"moved": lead_fallback_run(tenant=tenant), "warned": lead_warn_run(tenant=tenant)}
