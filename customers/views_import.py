"""Import pages: upload → map columns → preview → commit → progress and result (issue 3).

Thin views: parse, call customers.importer, render. Every page of a job starts with `get_import_for_user`, which
answers 404 for another tenant's job and for a colleague's (the same answer as for a missing one).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.models import Role
from crm.web import tenant_required

from . import importer
from .forms_import import ImportMappingForm, ImportUploadForm
from .models import ImportJob

ROWS_PER_PAGE = 50
SAMPLE_ROWS = 5
RECENT_JOBS = 10


def get_import_for_user(request: HttpRequest, pk: int) -> ImportJob:
    """The import job if `request.user` may see it (its uploader, or an administrator), else 404."""
    job = get_object_or_404(ImportJob.objects.for_tenant(request.tenant).select_related("created_by", "tenant"), pk=pk)
    if not importer.can_access_job(request.user, job):
        raise Http404
    importer.require_import(request.user)
    return job


def _owner_label(job: ImportJob) -> str:
    owner_id = (job.mapping or {}).get("owner")
    if importer.imports_by_rules(job):
        return _("owners chosen by the assignment rules")
    if owner_id is None:
        return _("the public pool")
    owner = job.tenant.users.filter(pk=owner_id).first()
    return owner.full_name if owner else "—"


def _mapped_targets(job: ImportJob) -> list[dict]:
    columns = importer.job_columns(job)
    return [
        {
            "key": t.key,
            "label": t.label,
            "header": job.headers[columns[t.key]] if columns[t.key] < len(job.headers) else "",
        }
        for t in importer.TARGETS
        if t.key in columns
    ]


@tenant_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    importer.require_import(request.user)
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST if posted else None, request.FILES if posted else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = importer.import_upload(
                acting_user=request.user,
                uploaded=form.cleaned_data["file"],
                owner=form.owner(),
                by_rules=form.by_rules(),
            )
        except DomainError as exc:
            field = {"owner": "target"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            return redirect("customers:import_mapping", pk=job.pk)
    recent = ImportJob.objects.for_tenant(request.tenant).select_related("created_by")
    if not request.user.has_any_role(Role.ADMIN):
        recent = recent.filter(created_by=request.user)
    context = {
        "form": form,
        "recent": recent.order_by("-created_at", "-pk")[:RECENT_JOBS],
        "max_rows_inline": importer.INLINE_MAX_ROWS,
        "targets": importer.TARGETS,
    }
    return render(request, "customers/import/upload.html", context, status=422 if form.errors else 200)


@tenant_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.PREVIEWED):
        return redirect("customers:import_detail", pk=job.pk)
    form = ImportMappingForm(request.POST if request.method == "POST" else None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            importer.import_map(acting_user=request.user, job=job, columns=form.columns())
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("customers:import_preview", pk=job.pk)
    samples = []
    try:
        rows = importer.job_sheet(job).rows
        for _number, cells in rows:
            samples.append((cells + [""] * len(job.headers))[: len(job.headers)])
            if len(samples) >= SAMPLE_ROWS:
                break
    except DomainError as exc:
        form.add_error(None, exc.message)
    context = {"job": job, "form": form, "samples": samples, "owner_label": _owner_label(job)}
    return render(request, "customers/import/mapping.html", context, status=422 if form.errors else 200)


def _row_view(row: importer.RowResult, targets: list[dict]) -> dict:
    return {
        "number": row.number,
        "status": row.status,
        "cells": [{"value": row.values.get(t["key"], ""), "error": row.errors.get(t["key"], "")} for t in targets],
        "reason": row.reason,
    }


@tenant_required
@vary_on_headers("HX-Request")
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status == ImportJob.Status.UPLOADED and not importer.is_checking(job):
        return redirect("customers:import_mapping", pk=job.pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.PREVIEWED):
        return redirect("customers:import_detail", pk=job.pk)
    problems_only = request.GET.get("problems") == "1"
    targets = _mapped_targets(job)
    try:
        rows = importer.preview_rows(acting_user=request.user, job=job, problems_only=problems_only)
    except DomainError as exc:
        messages.error(request, exc.message)
        rows = []
    page = Paginator([_row_view(r, targets) for r in rows], ROWS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "targets": targets,
        "page": page,
        "shown": len(rows),
        "limit": importer.PREVIEW_ROWS,
        "problems_only": problems_only,
        "checking": importer.is_checking(job),
        "summary": job.summary or {},
        "owner_label": _owner_label(job),
        "inline": job.total_rows <= importer.INLINE_MAX_ROWS,
        **_progress_context(job),
    }
    # The rows table pages and filters in place (its links are boosted into #import-rows).
    if request.htmx and request.htmx.target == "import-rows":
        return render(request, "customers/import/_rows.html", context)
    return render(request, "customers/import/preview.html", context)


@tenant_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    try:
        job = importer.import_start(acting_user=request.user, job=job)
    except (DomainError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", "") or _("You may not start this import."))
        return redirect(
            "customers:import_preview" if job.status == ImportJob.Status.PREVIEWED else "customers:import_detail",
            pk=job.pk,
        )
    except Exception:  # noqa: BLE001 - the importer logged it and marked the job failed; nothing was saved
        job.refresh_from_db()
    if job.status == ImportJob.Status.DONE:
        messages.success(
            request,
            _("%(created)d customers imported, %(rejected)d rows rejected.")
            % {"created": job.created_count, "rejected": job.rejected_count},
        )
    elif job.status == ImportJob.Status.FAILED:
        messages.error(request, job.error or _("The import failed; nothing was saved."))
    return redirect("customers:import_detail", pk=job.pk)


def _progress_context(job: ImportJob) -> dict:
    checking = importer.is_checking(job)
    active = checking or job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    total = job.total_rows or 0
    percent = min(100, int(job.processed_rows * 100 / total)) if total else 0
    if job.status == ImportJob.Status.DONE:
        percent = 100
    return {"job": job, "checking": checking, "active": active, "percent": percent}


@tenant_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status == ImportJob.Status.UPLOADED and not importer.is_checking(job):
        return redirect("customers:import_mapping", pk=job.pk)
    context = {**_progress_context(job), "owner_label": _owner_label(job)}
    return render(request, "customers/import/detail.html", context)


@tenant_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial, polled by htmx every second while the job checks or imports."""
    job = get_import_for_user(request, pk)
    phase = "check" if request.GET.get("phase") == "check" else ""
    context = {**_progress_context(job), "phase": phase}
    response = render(request, "customers/import/_progress.html", context)
    if request.htmx and phase and not context["checking"]:
        # The check finished while the preview page waited: reload it with the counts.
        response["HX-Refresh"] = "true"
    return response


@tenant_required
def import_rejected(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows as CSV (UTF-8 with BOM, original columns and the reason) to fix and upload again: the file
    written at commit, or, before it, the rows the preview rejects."""
    job = get_import_for_user(request, pk)
    if job.rejected_file:
        with job.rejected_file.open("rb") as handle:
            content = handle.read()
    elif job.status == ImportJob.Status.PREVIEWED:
        content = importer.preview_rejected_csv(acting_user=request.user, job=job)
    else:
        raise Http404
    stem = Path(job.original_name or "import").stem or "import"
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{stem}-rejected.csv")
    return response
