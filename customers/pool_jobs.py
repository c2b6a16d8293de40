"""Celery tasks of the public pool: a dispatcher fans out one task per tenant, so tenants run in parallel and one
tenant's failure does not stop the others. Each per-tenant task calls an idempotent service."""

from celery import shared_task

from crm.models import Tenant
from crm.tenancy import TenantTask

from . import pool


@shared_task
def fallback_to_pool() -> int:
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        fallback_to_pool_for_tenant.delay(tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True)
def fallback_to_pool_for_tenant(tenant_id: int) -> int:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    return pool.fallback_run(tenant=tenant)


@shared_task
def warn_before_fallback() -> int:
    ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        warn_before_fallback_for_tenant.delay(tenant_id)
    return len(ids)


@shared_task(base=TenantTask, acks_late=True)
def warn_before_fallback_for_tenant(tenant_id: int) -> dict:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    return pool.warn_run(tenant=tenant)
