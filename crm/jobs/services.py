"""Recording each run of a tenant's background job (called by crm.tenancy.TenantTask around every run).

One statement per event, an upsert on (tenant, task), so concurrent runs of the same job never collide and a
job's bookkeeping costs two round trips whatever its size. A failure to record is logged and never fails the job.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

RESULT_MAX = 200
ERROR_MAX = 500


def _run(sql: str, params: list) -> None:
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    except DatabaseError:
        logger.warning("could not record a background job's run", exc_info=True)


def task_run_started(*, tenant_id: int, task: str, at) -> None:
    _run(
        """
        INSERT INTO jobs_taskrun (tenant_id, task, status, started_at, runs, failures, result, last_error)
        VALUES (%s, %s, 'running', %s, 0, 0, '', '')
        ON CONFLICT (tenant_id, task) DO UPDATE SET status = 'running', started_at = EXCLUDED.started_at
        """,
        [tenant_id, task, at],
    )


def task_run_finished(
    *, tenant_id: int, task: str, started_at, result=None, error: BaseException | None = None
) -> None:
    """The run that started at `started_at` ended: with `result`, or failed with `error`. Only the latest run's
    outcome is kept as the current state; runs and failures are counted."""
    finished = timezone.now()
    duration_ms = max(0, int((finished - started_at).total_seconds() * 1000))
    failed = error is not None
    text = "" if result is None else str(result)[:RESULT_MAX]
    error_text = f"{type(error).__name__}: {error}"[:ERROR_MAX] if failed else ""
    _run(
        """
        INSERT INTO jobs_taskrun
            (tenant_id, task, status, started_at, finished_at, duration_ms, result, runs, failures, last_failed_at,
             last_error)
        VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)
        ON CONFLICT (tenant_id, task) DO UPDATE SET
            status = CASE WHEN jobs_taskrun.started_at > EXCLUDED.started_at THEN jobs_taskrun.status
                          ELSE EXCLUDED.status END,
            finished_at = EXCLUDED.finished_at,
            duration_ms = EXCLUDED.duration_ms,
            result = EXCLUDED.result,
            runs = jobs_taskrun.runs + 1,
            failures = jobs_taskrun.failures + EXCLUDED.failures,
            last_failed_at = COALESCE(EXCLUDED.last_failed_at, jobs_taskrun.last_failed_at),
            last_error = CASE WHEN EXCLUDED.failures > 0 THEN EXCLUDED.last_error ELSE jobs_taskrun.last_error END
        """,
        [
            tenant_id,
            task,
            "failed" if failed else "succeeded",
            started_at,
            finished,
            duration_ms,
            text,
            1 if failed else 0,
            finished if failed else None,
            error_text,
        ],
    )
