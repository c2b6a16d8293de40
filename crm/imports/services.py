"""The writes of an import, whatever its kind: upload, map, check, start, commit, recover.

Where the work happens, so no web request holds a worker for long:
- the upload (web) reads the header, a few sample rows and counts on up to `IMPORT_INLINE_MAX_ROWS` + 1 rows:
  a file that ends by then is small and its count is exact; a longer one is large and counted by its check;
- the check (every row classified: the preview's counts, its first rows and rejected rows, the rejected-rows file)
  runs in the request for a small file and in the worker for a large one; the preview page only shows what the
  check stored;
- the commit runs in ONE transaction (every row classified again, the importable ones created batch by batch,
  nothing saved if anything fails), in the request for a small file and in the worker for a large one, its
  progress written outside the transaction (`progress.ProgressWriter`).

Each step claims the job with a conditional UPDATE on its status and runs under a transaction-scoped advisory
lock (`crm.locks.IMPORT_JOB` on the job for its commit, `IMPORT_CHECK` on the check's token for a check), so a
double click, a redelivered task or two copies at once never run a step twice. A process that dies mid-step
leaves nothing (its transaction rolls back and its lock goes with it); the job still says checking, queued or
running, and `imports_recover` starts it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.files import file_save
from crm.imports import tasks
from crm.imports.access import can_access_job
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.models import ImportJob
from crm.imports.progress import ProgressWriter
from crm.imports.reader import ImportFileError, Sheet, batched, check_upload_name, guess_mapping, read_sheet
from crm.imports.rejected import RejectedRows, remove_file
from crm.locks import IMPORT_CHECK, IMPORT_JOB
from crm.models import User
from crm.registry import registry
from crm.services import outbox
from crm.services.audit import audit
from crm.tenancy import tenants_having

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# The preview lists at most this many rows, and as many of the rejected ones.
PREVIEW_ROWS = 200
# A preview cell keeps at most this many characters.
PREVIEW_CELL = 200
# Rows read at upload to show beside the mapping.
SAMPLE_ROWS = 5
SAMPLE_CELL = 100

UNFINISHED = (ImportJob.Status.CHECKING, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def import_kind(key: str) -> type[ImportKind]:
    return registry.import_kind(key)


def inline_max_rows() -> int:
    return settings.IMPORT_INLINE_MAX_ROWS


def is_large(job: ImportJob) -> bool:
    """Checked and committed by the worker, with a progress bar: more rows than a request handles at once."""
    return job.total_rows is None or job.total_rows > inline_max_rows()


def _try_lock(job_id: int) -> bool:
    """The job's commit lock, held until the current transaction ends (also when its process dies)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [IMPORT_JOB, job_id % 2_147_483_647])
        return bool(cursor.fetchone()[0])


def _try_check_lock(token: str) -> bool:
    """The lock of one check (one mapping of one job): a check for a newer mapping never waits for an older one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [IMPORT_CHECK, token])
        return bool(cursor.fetchone()[0])


# --- upload and mapping -------------------------------------------------------------------------------------------


def job_sheet(job: ImportJob) -> Sheet:
    """The job's file, read back from media storage (where the web process put it and the worker finds it)."""
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:
        raise ImportFileError(_("The uploaded file is no longer available; upload it again.")) from exc
    return read_sheet(data, job.file.name)


def _survey(sheet: Sheet) -> tuple[list[list[str]], int | None]:
    """The first rows for the mapping page, and the number of data rows if the file ends within the inline
    limit (None: it is large, counted by its check). Reads at most that limit + 1 rows."""
    width = len(sheet.headers)
    limit = inline_max_rows()
    samples: list[list[str]] = []
    count = 0
    for _number, cells in sheet.rows:
        count += 1
        if len(samples) < SAMPLE_ROWS:
            samples.append([c[:SAMPLE_CELL] for c in (cells + [""] * width)[:width]])
        if count > limit:
            return samples, None
    return samples, count


def import_upload(*, acting_user: User, kind: type[ImportKind], uploaded, destination: str | None = None) -> ImportJob:
    """Check an uploaded file and keep it in media storage (where the worker reads it). `destination` is the
    choice of "Import for" (`kind.destinations`). Raises ImportFileError, before saving anything, when the file
    cannot be imported, and DomainError (field "target") when the destination is refused."""
    kind.require_import(acting_user)
    options = kind.options_for(acting_user, destination)
    name = uploaded.name or ""
    check_upload_name(name, uploaded.size)
    uploaded.seek(0)
    data = uploaded.read()
    sheet = read_sheet(data, name)
    samples, total = _survey(sheet)
    if not samples:
        raise ImportFileError(_("The file has a header row but no data rows."))
    job = ImportJob(
        tenant=acting_user.tenant,
        created_by=acting_user,
        kind=kind.key,
        original_name=name[:255],
        encoding=sheet.encoding,
        headers=sheet.headers,
        samples=samples,
        mapping=guess_mapping(sheet.headers, kind.targets_for(acting_user.tenant_id)),
        options=options,
        total_rows=total,
    )
    suffix = ".xlsx" if sheet.encoding == "xlsx" else ".csv"
    with transaction.atomic():
        # A random name: nothing in media storage can be found by guessing; downloads go through the views.
        file_save(job.file, f"{uuid.uuid4().hex}{suffix}", ContentFile(data))
        job.save()
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action=f"{kind.audit_action}.upload",
            obj=job,
            details={"file": job.original_name, "rows": total, **options},
        )
    return job


def import_map(*, acting_user: User, job: ImportJob, columns: dict[str, int]) -> ImportJob:
    """Save the column mapping and check every row (`import_check`): at once for a small file, in the worker for a
    large one (the preview page follows its progress)."""
    kind = import_kind(job.kind)
    kind.require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    if any(kind.target(k, job.tenant_id) is None or not 0 <= v < len(job.headers) for k, v in columns.items()):
        raise DomainError(_("Choose columns of the file."))
    if len(set(columns.values())) != len(columns):
        raise DomainError(_("Choose each column for one field only."))
    kind.check_mapping(columns)
    kind.check_custom_mapping(columns, job.tenant_id)
    token = uuid.uuid4().hex
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.CHECKING, ImportJob.Status.PREVIEWED):
            raise DomainError(_("This import has already been started."))
        job.mapping = columns
        job.check_token = token
        job.status = ImportJob.Status.CHECKING
        job.summary = {}
        job.preview = {}
        job.processed_rows = 0
        job.error = ""
        job.save(
            update_fields=[
                "mapping",
                "check_token",
                "status",
                "summary",
                "preview",
                "processed_rows",
                "error",
                "updated_at",
            ]
        )
        if is_large(job):
            outbox.enqueue(tasks.check_import, job.tenant_id, job.pk, token)
    if not is_large(job):
        import_check(job_id=job.pk, token=token)
        job.refresh_from_db()
    return job


# --- the check ----------------------------------------------------------------------------------------------------


def _preview_row(row: Row) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "values": {k: v[:PREVIEW_CELL] for k, v in row.values.items()},
        "errors": row.errors,
        "note": row.note,
    }


def _job_user(job: ImportJob) -> User | None:
    user = job.created_by
    return user if user is not None and user.is_active else None


def import_check(*, job_id: int, token: str, progress: ProgressWriter | None = None) -> ImportJob | None:
    """Classify every row of a mapped job as its creator would see it and keep what the preview shows: the counts,
    the first rows and the first rejected ones with their reasons, the rejected-rows file, the number of rows.

    Idempotent: does nothing if the mapping changed since (another token), the job moved on, or another copy is
    checking it. A file that turns out unreadable or over a limit fails the job with the reason."""
    job = ImportJob.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.CHECKING or job.check_token != token:
        return None
    pending = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CHECKING, check_token=token)
    user = _job_user(job)
    if user is None:
        _fail(pending, _("The person who uploaded this file can no longer import."))
        return None
    kind = import_kind(job.kind)
    rejected = RejectedRows(job.headers)
    counts = dict.fromkeys(RowStatus.ALL, 0)
    by_field: dict[str, int] = {}
    shown: list[dict] = []
    problems: list[dict] = []
    total = 0
    try:
        with translation.override(user.effective_language), transaction.atomic():
            # A read-only transaction, only to hold the check's lock: one copy checks this mapping at a time.
            if not _try_check_lock(token):
                rejected.close()
                return None
            classifier = kind(job=job, user=user)
            for batch in batched(job_sheet(job).rows, BATCH_SIZE):
                rows = classifier.classify(batch)
                for row in rows:
                    counts[row.status] += 1
                    if row.status == RowStatus.INVALID:
                        for key in row.errors:
                            by_field[key] = by_field.get(key, 0) + 1
                    if len(shown) < PREVIEW_ROWS:
                        shown.append(_preview_row(row))
                    if row.status not in kind.importable and len(problems) < PREVIEW_ROWS:
                        problems.append(_preview_row(row))
                rejected.write(r for r in rows if r.status not in kind.importable)
                total += len(batch)
                if progress is not None:
                    progress(total)
            notices = classifier.notices()
    except DomainError as exc:
        rejected.close()
        _fail(pending, exc.message)
        return None
    except Exception as exc:
        rejected.close()
        logger.exception("Check of import %s failed", job_id)
        _fail(pending, _("The check failed (%(error)s).") % {"error": type(exc).__name__})
        raise
    finally:
        if progress is not None:
            progress.close()
    previous = job.rejected_file.name or ""
    name = rejected.save(job)
    won = pending.update(
        status=ImportJob.Status.PREVIEWED,
        summary={**counts, "invalid_by_field": by_field, **({"notices": notices} if notices else {})},
        preview={"rows": shown, "problems": problems},
        total_rows=total,
        processed_rows=0,
        rejected_file=name,
        updated_at=timezone.now(),
    )
    if not won:
        remove_file(name)  # a newer mapping is being checked
        return None
    if previous and previous != name:
        remove_file(previous)
    job.refresh_from_db()
    return job


# --- the commit ---------------------------------------------------------------------------------------------------


def import_start(*, acting_user: User, job: ImportJob) -> ImportJob:
    """Commit a previewed import: a small file at once, a large one as a Celery job (enqueued after commit)."""
    kind = import_kind(job.kind)
    kind.require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    kind(job=job, user=acting_user).check_options()  # refused now rather than in the worker
    inline = not is_large(job)
    with transaction.atomic():
        won = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
            status=ImportJob.Status.RUNNING if inline else ImportJob.Status.QUEUED,
            processed_rows=0,
            error="",
            updated_at=timezone.now(),
        )
        if not won:
            raise DomainError(_("This import has already been started."))
        if not inline:
            outbox.enqueue(tasks.run_import, job.tenant_id, job.pk)
    if inline:
        import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def import_claim(*, job_id: int) -> bool:
    """A worker takes a queued job (queued → running). A job still running is taken again: its worker was lost and
    its transaction rolled back (a live one holds the job's lock, and `import_execute` leaves it alone)."""
    return bool(
        ImportJob.objects.filter(pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]).update(
            status=ImportJob.Status.RUNNING, updated_at=timezone.now()
        )
    )


def import_execute(*, job_id: int, progress: ProgressWriter | None = None) -> ImportJob | None:
    """Run a started import (status running) in ONE transaction: every row classified again, the importable ones
    created, the rejected ones written to a file to fix. On any error nothing is saved and the job says failed.

    Idempotent: a copy that finds the job done, failed or locked by another copy does nothing (the lock goes with
    the transaction, also when a worker dies, so a redelivered task or the recovery can run it again)."""
    job = ImportJob.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None:
        return None
    running = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING)
    user = _job_user(job)
    if user is None:
        _fail(running, _("The person who started this import can no longer import."))
        return None
    kind = import_kind(job.kind)
    written = ""  # the rejected-rows file, stored before the transaction commits: removed again if it fails
    previous = job.rejected_file.name or ""
    try:
        with translation.override(user.effective_language):
            try:
                with transaction.atomic():
                    if not _try_lock(job_id):
                        return None
                    job.refresh_from_db()
                    if job.status != ImportJob.Status.RUNNING:
                        return None
                    written = _commit(job, kind(job=job, user=user), progress)
            except (DomainError, PermissionDenied) as exc:
                remove_file(written)
                message = getattr(exc, "message", "") or str(exc) or str(kind.refusal)
                _fail(running, message)
            except Exception as exc:
                remove_file(written)
                logger.exception("Import %s failed", job_id)
                _fail(running, _("The import failed (%(error)s); nothing was saved.") % {"error": type(exc).__name__})
                raise
            else:
                if previous and previous != written:
                    remove_file(previous)  # the preview's rejected rows, replaced by the commit's
    finally:
        if progress is not None:
            progress.close()
    job.refresh_from_db()
    return job


def _commit(job: ImportJob, kind: ImportKind, progress: ProgressWriter | None) -> str:
    kind.check_options()
    kind.prepare()
    rejected = RejectedRows(job.headers)
    counts = dict.fromkeys(RowStatus.ALL, 0)
    created = duplicates = processed = 0
    try:
        for batch in batched(job_sheet(job).rows, BATCH_SIZE):
            rows = kind.classify(batch)
            importable = [r for r in rows if r.status in kind.importable]
            refused = kind.create(importable) if importable else []
            refused_numbers = {r.number for r in refused}
            for row in rows:
                counts[row.status] += 1
            kept = [r for r in importable if r.number not in refused_numbers]
            created += len(kept)
            duplicates += sum(1 for r in kept if r.status == RowStatus.DUPLICATE)
            rejected.write(
                sorted(
                    [r for r in rows if r.status not in kind.importable or r.number in refused_numbers],
                    key=lambda r: r.number,
                )
            )
            processed += len(batch)
            if progress is not None:
                progress(processed)
        details = kind.finish()
        rejected_count = rejected.count
        name = rejected.save(job)
    finally:
        rejected.close()
    try:
        audit(
            tenant=job.tenant,
            actor=kind.user,
            action=kind.audit_action,
            obj=job,
            details={
                "file": job.original_name,
                "rows": processed,
                "created": created,
                "duplicates": duplicates,
                "rejected": rejected_count,
                **details,
            },
        )
        # This transaction writes the job's row only now, at its very end, so the progress connection's UPDATEs
        # never wait on a lock held by the import.
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE,
            total_rows=processed,
            processed_rows=processed,
            created_count=created,
            duplicate_count=duplicates,
            rejected_count=rejected_count,
            rejected_file=name,
            summary={**(job.summary or {}), "committed": counts},
            error="",
            finished_at=now,
            updated_at=now,
        )
    except BaseException:
        remove_file(name)
        raise
    return name


def _fail(pending, message: str) -> None:
    now = timezone.now()
    pending.update(status=ImportJob.Status.FAILED, error=message[:2000], finished_at=now, updated_at=now)


# --- recovery -----------------------------------------------------------------------------------------------------


def stalled_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS)


def tenants_with_stalled_imports(*, now: dt.datetime | None = None) -> list[int]:
    cutoff = (now or timezone.now()) - stalled_after()
    return tenants_having(lambda: ImportJob.objects.filter(status__in=UNFINISHED, updated_at__lt=cutoff))


def imports_recover(*, tenant_id: int, now: dt.datetime | None = None) -> list[int]:
    """Start again the tenant's jobs that say checking, queued or running but that nobody works on: their process
    died (nothing of its work was saved) or their task was lost. A job is taken only when it has not moved for
    `IMPORT_STALLED_AFTER_SECONDS` and its lock is free (a live check or commit holds it). Returns their ids."""
    now = now or timezone.now()
    stalled = ImportJob.objects.filter(
        tenant_id=tenant_id, status__in=UNFINISHED, updated_at__lt=now - stalled_after()
    ).values_list("pk", "status", "check_token")
    restarted = []
    for pk, status, token in stalled:
        with transaction.atomic():
            if not (_try_check_lock(token) if status == ImportJob.Status.CHECKING else _try_lock(pk)):
                continue
            # Touched, so the next sweep gives the restarted task time before it looks again.
            if not ImportJob.objects.filter(pk=pk, status=status).update(updated_at=now):
                continue
            if status == ImportJob.Status.CHECKING:
                outbox.enqueue(tasks.check_import, tenant_id, pk, token)
            else:
                outbox.enqueue(tasks.run_import, tenant_id, pk)
        restarted.append(pk)
    if restarted:
        logger.warning("Imports %s of tenant %s had stalled and were started again", restarted, tenant_id)
    return restarted
