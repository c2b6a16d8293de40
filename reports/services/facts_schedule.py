"""Rebuilding a tenant's funnel facts as a job when something they were computed from changes for all of them at
once: the tenant's time zone (the facts keep each opportunity's local cohort and rate months)."""

from __future__ import annotations

from django.db import transaction

from crm.services import outbox
from reports import tasks
from reports.services.funnel_facts import funnel_facts_rebuild_marked


def funnel_facts_rebuild_request(*, tenant_id: int) -> None:
    """Queue the rebuild of the tenant's facts after the current transaction commits, and say on the funnel page
    that it is under way (until the job ends). A second request while one waits queues a second run, which
    rewrites the same rows: the rebuild is idempotent."""
    outbox.enqueue(tasks.rebuild_tenant_funnel_facts, tenant_id)
    transaction.on_commit(lambda: funnel_facts_rebuild_marked(tenant_id=tenant_id))


def on_tenant_updated(sender, tenant, changes, **kwargs) -> None:
    if "timezone" in changes:
        funnel_facts_rebuild_request(tenant_id=tenant.pk)
