"""The tenant's background jobs as its admins see them: every job that runs per company, with its last run."""

from __future__ import annotations

from dataclasses import dataclass

from crm.celery import app
from crm.models import Tenant
from crm.tenancy import TenantTask

from .models import TaskRun


@dataclass(frozen=True)
class JobRow:
    name: str
    label: str
    run: TaskRun | None


def tenant_jobs(tenant: Tenant) -> list[JobRow]:
    """Every per-tenant job the workers know (a TenantTask), with its last run for `tenant` (None: never ran),
    failing ones first, then by label. One query."""
    app.loader.import_default_modules()
    runs = {run.task: run for run in TaskRun.objects.filter(tenant=tenant)}
    names = {name for name, task in app.tasks.items() if isinstance(task, TenantTask)} | set(runs)
    rows = [
        JobRow(name=name, label=str(getattr(app.tasks.get(name), "label", "") or name), run=runs.get(name))
        for name in names
    ]
    return sorted(rows, key=lambda row: (not (row.run and row.run.status == TaskRun.Status.FAILED), row.label))
