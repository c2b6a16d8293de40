"""Bookkeeping of periodic jobs: once a day per tenant."""

from __future__ import annotations

from django.db import transaction

from crm.models import JobRun, Tenant


def job_run_once_today(*, tenant: Tenant, job: str, day) -> bool:
    """Claim today's run of a daily job for a tenant: True for the first caller, False for every later or
    concurrent one (the unique row decides). Call inside the job's transaction, so a crashed run is retried."""
    with transaction.atomic():
        _obj, created = JobRun.objects.get_or_create(tenant=tenant, job=job, day=day)
    return created
