"""Celery tasks of the customers app (thin: ids in, a service call, nothing swallowed)."""

from . import export_jobs, pool_jobs  # noqa: F401  (registers their tasks with Celery's autodiscovery)
