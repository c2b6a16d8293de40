"""Lead import pages: upload → map columns → preview → commit → progress and result (the customers' flow).

Every page of a job starts with `get_import_for_user`: 404 for another tenant's job and for a colleague's (the
same answer as for a missing one); its uploader and the tenant's administrators may open it.
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import assignable_users
from crm.errors import DomainError
from crm.models import Role, User
from crm.web import tenant_required
from customers import importer as base
from customers.forms_import import ImportUploadForm
from sales.access import is_lead_manager

from . import lead_import
from .models import LeadImport

ROWS_PER_PAGE = 50
SAMPLE_ROWS = 5
RECENT_JOBS = 10
UNASSIGNED = "none"


class LeadImportUploadForm(forms.Form):
    """The customers' upload field and its checks; importing for oneself, a colleague or nobody yet."""

    file = ImportUploadForm.base_fields["file"]
    target = forms.ChoiceField(label=gettext_lazy("Import for"), required=False)
    clean_file = ImportUploadForm.clean_file

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        owners = list(assignable_users(user).order_by("full_name", "pk"))
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(str(u.pk), u.full_name or u.email) for u in owners if u.pk != user.pk]
        if is_lead_manager(user):
            choices.append((UNASSIGNED, _("Nobody yet (hand out later)")))
        self.owners = {str(u.pk): u for u in owners}
        self.owners.setdefault(str(user.pk), user)
        if len(choices) == 1:
            del self.fields["target"]
        else:
            self.fields["target"].choices = choices
            self.fields["target"].initial = str(user.pk)

    def owner(self) -> User | None:
        target = self.cleaned_data.get("target") or str(self.user.pk)
        if target == UNASSIGNED:
            return None
        return self.owners.get(target, self.user)


class LeadImportMappingForm(forms.Form):
    def __init__(self, *args, job: LeadImport, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [("", _("— not imported —"))]
        for index, header in enumerate(job.headers):
            columns.append((str(index), header or _("Column %(number)d") % {"number": index + 1}))
        current = lead_import.job_columns(job)
        for target in lead_import.TARGETS:
            self.fields[target.key] = forms.ChoiceField(
                label=target.label,
                choices=columns,
                required=False,
                initial=str(current[target.key]) if target.key in current else "",
            )

    def clean(self):
        data = super().clean()
        used: dict[str, str] = {}
        for target in lead_import.TARGETS:
            column = data.get(target.key)
            if not column:
                continue
            if column in used:
                self.add_error(
                    target.key, _("This column is already imported as “%(field)s”.") % {"field": used[column]}
                )
            else:
                used[column] = str(target.label)
        if not (data.get("name") or data.get("company")):
            self.add_error("name", _("Choose the column that holds the name (or the company)."))
        return data

    def columns(self) -> dict[str, int]:
        return {t.key: int(self.cleaned_data[t.key]) for t in lead_import.TARGETS if self.cleaned_data.get(t.key)}


def get_import_for_user(request: HttpRequest, pk: int) -> LeadImport:
    job = get_object_or_404(LeadImport.objects.for_tenant(request.tenant).select_related("created_by", "tenant"), pk=pk)
    if not lead_import.can_access_job(request.user, job):
        raise Http404
    lead_import.require_import(request.user)
    return job


def _owner_label(job: LeadImport) -> str:
    owner_id = (job.mapping or {}).get("owner")
    if owner_id is None:
        return _("nobody yet (managers hand them out)")
    owner = job.tenant.users.filter(pk=owner_id).first()
    return owner.full_name if owner else "—"


def _mapped_targets(job: LeadImport) -> list[dict]:
    columns = lead_import.job_columns(job)
    return [
        {
            "key": t.key,
            "label": t.label,
            "header": job.headers[columns[t.key]] if columns[t.key] < len(job.headers) else "",
        }
        for t in lead_import.TARGETS
        if t.key in columns
    ]


def _progress_context(job: LeadImport) -> dict:
    checking = lead_import.is_checking(job)
    active = checking or job.status in (LeadImport.Status.QUEUED, LeadImport.Status.RUNNING)
    total = job.total_rows or 0
    percent = min(100, int(job.processed_rows * 100 / total)) if total else 0
    if job.status == LeadImport.Status.DONE:
        percent = 100
    return {"job": job, "checking": checking, "active": active, "percent": percent}


@tenant_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    lead_import.require_import(request.user)
    posted = request.method == "POST"
    form = LeadImportUploadForm(request.POST if posted else None, request.FILES if posted else None, user=request.user)
    if posted and form.is_valid():
        try:
            job = lead_import.lead_import_upload(
                acting_user=request.user, uploaded=form.cleaned_data["file"], owner=form.owner()
            )
        except DomainError as exc:
            field = {"owner": "target"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            return redirect("sales:lead_import_mapping", pk=job.pk)
    recent = LeadImport.objects.for_tenant(request.tenant).select_related("created_by")
    if not request.user.has_any_role(Role.ADMIN):
        recent = recent.filter(created_by=request.user)
    context = {
        "form": form,
        "recent": recent.order_by("-created_at", "-pk")[:RECENT_JOBS],
        "max_rows_inline": base.INLINE_MAX_ROWS,
        "targets": lead_import.TARGETS,
    }
    return render(request, "sales/leads/import/upload.html", context, status=422 if form.errors else 200)


@tenant_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status not in (LeadImport.Status.UPLOADED, LeadImport.Status.PREVIEWED):
        return redirect("sales:lead_import_detail", pk=job.pk)
    form = LeadImportMappingForm(request.POST if request.method == "POST" else None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            lead_import.lead_import_map(acting_user=request.user, job=job, columns=form.columns())
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("sales:lead_import_preview", pk=job.pk)
    samples = []
    try:
        for _number, cells in base.job_sheet(job).rows:
            samples.append((cells + [""] * len(job.headers))[: len(job.headers)])
            if len(samples) >= SAMPLE_ROWS:
                break
    except DomainError as exc:
        form.add_error(None, exc.message)
    context = {"job": job, "form": form, "samples": samples, "owner_label": _owner_label(job)}
    return render(request, "sales/leads/import/mapping.html", context, status=422 if form.errors else 200)


def _row_view(row: lead_import.LeadRow, targets: list[dict]) -> dict:
    return {
        "number": row.number,
        "status": row.status,
        "cells": [{"value": row.values.get(t["key"], ""), "error": row.errors.get(t["key"], "")} for t in targets],
        "note": row.note,
    }


@tenant_required
@vary_on_headers("HX-Request")
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status == LeadImport.Status.UPLOADED and not lead_import.is_checking(job):
        return redirect("sales:lead_import_mapping", pk=job.pk)
    if job.status not in (LeadImport.Status.UPLOADED, LeadImport.Status.PREVIEWED):
        return redirect("sales:lead_import_detail", pk=job.pk)
    problems_only = request.GET.get("problems") == "1"
    targets = _mapped_targets(job)
    try:
        rows = lead_import.preview_rows(acting_user=request.user, job=job, problems_only=problems_only)
    except DomainError as exc:
        messages.error(request, exc.message)
        rows = []
    page = Paginator([_row_view(r, targets) for r in rows], ROWS_PER_PAGE).get_page(request.GET.get("page"))
    summary = job.summary or {}
    context = {
        "job": job,
        "targets": targets,
        "page": page,
        "shown": len(rows),
        "limit": base.PREVIEW_ROWS,
        "problems_only": problems_only,
        "summary": summary,
        "importable": (summary.get("valid") or 0) + (summary.get("duplicate") or 0),
        "owner_label": _owner_label(job),
        "inline": job.total_rows <= base.INLINE_MAX_ROWS,
        **_progress_context(job),
    }
    if request.htmx and request.htmx.target == "import-rows":
        return render(request, "sales/leads/import/_rows.html", context)
    return render(request, "sales/leads/import/preview.html", context)


@tenant_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    try:
        job = lead_import.lead_import_start(acting_user=request.user, job=job)
    except (DomainError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", "") or _("You may not start this import."))
        target = (
            "sales:lead_import_preview" if job.status == LeadImport.Status.PREVIEWED else "sales:lead_import_detail"
        )
        return redirect(target, pk=job.pk)
    except Exception:  # noqa: BLE001 - the importer logged it and marked the job failed; nothing was saved
        job.refresh_from_db()
    if job.status == LeadImport.Status.DONE:
        messages.success(
            request,
            _("%(created)d leads imported (%(duplicates)d flagged as duplicates), %(rejected)d rows rejected.")
            % {"created": job.created_count, "duplicates": job.duplicate_count, "rejected": job.rejected_count},
        )
    elif job.status == LeadImport.Status.FAILED:
        messages.error(request, job.error or _("The import failed; nothing was saved."))
    return redirect("sales:lead_import_detail", pk=job.pk)


@tenant_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.status == LeadImport.Status.UPLOADED and not lead_import.is_checking(job):
        return redirect("sales:lead_import_mapping", pk=job.pk)
    context = {**_progress_context(job), "owner_label": _owner_label(job)}
    return render(request, "sales/leads/import/detail.html", context)


@tenant_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    phase = "check" if request.GET.get("phase") == "check" else ""
    context = {**_progress_context(job), "phase": phase}
    response = render(request, "sales/leads/import/_progress.html", context)
    if request.htmx and phase and not context["checking"]:
        response["HX-Refresh"] = "true"
    return response


@tenant_required
def import_rejected(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_import_for_user(request, pk)
    if job.rejected_file:
        with job.rejected_file.open("rb") as handle:
            content = handle.read()
    elif job.status == LeadImport.Status.PREVIEWED:
        content = lead_import.preview_rejected_csv(acting_user=request.user, job=job)
    else:
        raise Http404
    stem = Path(job.original_name or "import").stem or "import"
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{stem}-rejected.csv")
    return response
