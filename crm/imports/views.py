"""The import pages, one set for every kind: upload → map columns → preview → commit → the job page (progress and
result) → the rejected rows.

The upload page is the kind's own URL (`ImportUploadView.as_view(kind="customer")` in the kind's app urls), every
later page the job's (`imports:*`). Thin views: parse with a form, call `crm.imports.services`, render. Every page
of a job starts with `access.get_import_for_user`, which answers 404 for another tenant's job and for a colleague's
(the same answer as for a missing one). Templates are the shared ones under `imports/`, or a kind's own that
extend them and override their blocks (`ImportKind.template_dir`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.imports import services
from crm.imports.access import get_import_for_user, get_legacy_import_for_user
from crm.imports.forms import ImportMappingForm, ImportUploadForm, PreviewFilterForm, ProgressPhaseForm
from crm.imports.kind import ImportKind
from crm.imports.models import ImportJob
from crm.models import Role
from crm.web import tenant_required

ROWS_PER_PAGE = 50
RECENT_JOBS = 10
PAGES = ("upload.html", "mapping.html", "preview.html", "detail.html", "_steps.html", "_rows.html", "_progress.html")


def kind_templates(kind: type[ImportKind]) -> dict[str, str]:
    """Page → template name: the kind's own where it has one (extending the shared one), else the shared one."""
    names = {}
    for page in PAGES:
        candidates = [f"{kind.template_dir}/{page}"] if kind.template_dir else []
        names[page.removesuffix(".html").lstrip("_")] = select_template([*candidates, f"imports/{page}"]).template.name
    return names


def _progress(job: ImportJob) -> dict[str, Any]:
    checking = job.status == ImportJob.Status.CHECKING
    active = job.status in services.UNFINISHED
    total = job.total_rows or 0
    percent = min(100, int(job.processed_rows * 100 / total)) if total and not checking else 0
    if job.status == ImportJob.Status.DONE:
        percent = 100
    return {"checking": checking, "active": active, "percent": percent, "large": services.is_large(job)}


@method_decorator(tenant_required, name="dispatch")
class ImportView(View):
    """Base of the import pages: the kind (from the URL's configuration or the job), its templates, the job."""

    kind: str = ""
    http_method_names = ["get"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "pk" in kwargs:
            self.job = get_import_for_user(request.user, kwargs["pk"])
            self.import_kind = services.import_kind(self.job.kind)
        else:
            self.job = None
            self.import_kind = services.import_kind(self.kind)
            self.import_kind.require_import(request.user)
        self.templates = kind_templates(self.import_kind)
        return super().dispatch(request, *args, **kwargs)

    def context(self, **extra: Any) -> dict[str, Any]:
        context = {
            "kind": self.import_kind,
            "templates": self.templates,
            "job": self.job,
            "max_rows_inline": services.inline_max_rows(),
        }
        if self.job is not None:
            context["destination"] = self.import_kind.destination_label(self.job)
            context.update(_progress(self.job))
            if self.job.status == ImportJob.Status.DONE:
                context["result"] = self.import_kind.result_message(self.job)
        return {**context, **extra}

    def render(self, template: str, status: int = 200, **extra: Any) -> HttpResponse:
        return render(self.request, self.templates[template], self.context(**extra), status=status)


class ImportUploadView(ImportView):
    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        # A page may link to the upload with its destination chosen (?target=…): the choice is still checked.
        target = request.GET.get("target")
        initial = {"target": target} if target else None
        return self.page(ImportUploadForm(kind=self.import_kind, user=request.user, initial=initial))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES, kind=self.import_kind, user=request.user)
        if form.is_valid():
            try:
                job = services.import_upload(
                    acting_user=request.user,
                    kind=self.import_kind,
                    uploaded=form.cleaned_data["file"],
                    destination=form.destination(),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect("imports:mapping", pk=job.pk)
        return self.page(form)

    def page(self, form: ImportUploadForm) -> HttpResponse:
        recent = ImportJob.objects.for_tenant(self.request.tenant).filter(kind=self.import_kind.key)
        if not self.request.user.has_any_role(Role.ADMIN):
            recent = recent.filter(created_by=self.request.user)
        return self.render(
            "upload",
            status=422 if form.errors else 200,
            form=form,
            # The recognised headers: the kind's columns, with the company's custom fields.
            targets=self.import_kind.targets_for(self.request.tenant.pk),
            recent=recent.select_related("created_by").order_by("-created_at", "-pk")[:RECENT_JOBS],
        )


class ImportMappingView(ImportView):
    http_method_names = ["get", "post"]
    editable = (ImportJob.Status.UPLOADED, ImportJob.Status.CHECKING, ImportJob.Status.PREVIEWED)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.job.status not in self.editable:
            return redirect("imports:detail", pk=self.job.pk)
        return self.page(ImportMappingForm(job=self.job, kind=self.import_kind))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.job.status not in self.editable:
            return redirect("imports:detail", pk=self.job.pk)
        form = ImportMappingForm(request.POST, job=self.job, kind=self.import_kind)
        if form.is_valid():
            try:
                services.import_map(acting_user=request.user, job=self.job, columns=form.columns())
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect("imports:preview", pk=self.job.pk)
        return self.page(form)

    def page(self, form: ImportMappingForm) -> HttpResponse:
        return self.render("mapping", status=422 if form.errors else 200, form=form, samples=self.job.samples)


@method_decorator(vary_on_headers("HX-Request"), name="dispatch")
class ImportPreviewView(ImportView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.job
        if job.status == ImportJob.Status.UPLOADED:
            return redirect("imports:mapping", pk=job.pk)
        if job.status not in (ImportJob.Status.CHECKING, ImportJob.Status.PREVIEWED):
            return redirect("imports:detail", pk=job.pk)
        filters = PreviewFilterForm(request.GET)
        problems_only = filters.is_valid() and filters.cleaned_data["problems"]
        stored = (job.preview or {}).get("problems" if problems_only else "rows", [])
        columns = job.mapping or {}
        targets = [
            {"key": t.key, "label": t.label, "header": job.headers[columns[t.key]]}
            for t in self.import_kind.targets_for(job.tenant_id)
            if t.key in columns and columns[t.key] < len(job.headers)
        ]
        rows = [
            {
                "number": row["number"],
                "status": row["status"],
                "note": row.get("note", ""),
                "cells": [
                    {"value": row["values"].get(t["key"], ""), "error": row["errors"].get(t["key"], "")}
                    for t in targets
                ],
            }
            for row in stored
        ]
        summary = job.summary or {}
        context = {
            "targets": targets,
            "page": Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page")),
            "shown": len(rows),
            "limit": services.PREVIEW_ROWS,
            "problems_only": problems_only,
            "summary": summary,
            "importable": sum(summary.get(status) or 0 for status in self.import_kind.importable),
        }
        # The rows table pages and filters in place (its links are boosted into #import-rows).
        if request.htmx and request.htmx.target == "import-rows":
            return self.render("rows", **context)
        return self.render("preview", **context)


class ImportCommitView(ImportView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.job
        try:
            job = services.import_start(acting_user=request.user, job=job)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", "") or _("You may not start this import."))
            job.refresh_from_db()
            return redirect(
                "imports:preview" if job.status == ImportJob.Status.PREVIEWED else "imports:detail", pk=job.pk
            )
        except Exception:  # noqa: BLE001 - the import logged it and marked the job failed; nothing was saved
            job.refresh_from_db()
        if job.status == ImportJob.Status.DONE:
            messages.success(request, self.import_kind.result_message(job))
        elif job.status == ImportJob.Status.FAILED:
            messages.error(request, job.error or _("The import failed; nothing was saved."))
        return redirect("imports:detail", pk=job.pk)


class ImportDetailView(ImportView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.job.status == ImportJob.Status.UPLOADED:
            return redirect("imports:mapping", pk=self.job.pk)
        return self.render("detail")


class ImportProgressView(ImportView):
    """The progress partial, polled by htmx every second while the job is checked or imported."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        phase = ProgressPhaseForm(request.GET).value()
        response = self.render("progress", phase=phase)
        if request.htmx and phase == "check" and self.job.status != ImportJob.Status.CHECKING:
            # The check finished while the preview page waited: reload it with the counts and rows.
            response["HX-Refresh"] = "true"
        return response


class ImportRejectedView(ImportView):
    """The rejected rows as CSV (UTF-8 with BOM, the file's columns and the reason) to fix and upload again: those
    of the check until the import ran, then those of the import."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.job
        if not job.rejected_file:
            raise Http404
        try:
            with job.rejected_file.open("rb") as handle:
                content = handle.read()
        except OSError:
            raise Http404 from None
        stem = Path(job.original_name or "import").stem or "import"
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{stem}-rejected.csv"
        )
        return response


@method_decorator(tenant_required, name="dispatch")
class LegacyImportRedirectView(View):
    """The URLs of the per-app import pages that came before this one: a job carried over from them (by the id
    its old URL carries) is sent to its page here, so bookmarks keep working."""

    kind: str = ""
    http_method_names = ["get", "post"]
    steps = {
        "": "imports:detail",
        "mapping": "imports:mapping",
        "preview": "imports:preview",
        "commit": "imports:detail",
        "progress": "imports:progress",
        "rejected": "imports:rejected",
    }

    def get(self, request: HttpRequest, pk: int, step: str = "") -> HttpResponse:
        job = get_legacy_import_for_user(request.user, self.kind, pk)
        if step not in self.steps:
            raise Http404
        return redirect(self.steps[step], pk=job.pk)

    def post(self, request: HttpRequest, pk: int, step: str = "") -> HttpResponse:
        return self.get(request, pk, step)
