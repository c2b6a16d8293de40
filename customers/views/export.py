"""Exports of the lists (every registered export kind): the confirmation and direct download or a job, and the
user's past exports."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.exports import CONTENT_TYPES, COUNT_CAP, FORMATS, count_capped, csv_chunks, sync_limit, write_xlsx
from crm.models import Role
from crm.registry import registry
from crm.services.audit import audit
from crm.tenancy import stream_in_context
from crm.web import paginate, tenant_required
from customers.access import require_export
from customers.models import ExportJob
from customers.selectors.export import exports_visible_to
from customers.services.export import EXPORT_KEEP_DAYS, ExportPlan, records_export


def _filter_summary(filterset) -> list[tuple[str, str]]:
    """The filters in force, as (label, value) pairs for the confirmation page."""
    summary = []
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "", [], ()) or name == "sort":
            continue
        field = filterset.form.fields[name]
        if isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif hasattr(field, "choices") and not hasattr(value, "pk"):
            value = dict(field.choices).get(value, value)
        summary.append((str(field.label), str(value)))
    return summary


def _download(plan: ExportPlan, request: HttpRequest) -> HttpResponse:
    tz = request.tenant.tzinfo
    name = plan.kind.filename(plan.fmt, tz=tz, now=timezone.now())
    # Headers and choice names now, in the request's language.
    writer = plan.kind(tenant_id=request.tenant.pk, viewer_id=request.user.pk, tz=tz)
    if plan.fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(writer, plan.queryset, buffer)
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
    else:
        # The rows are read while the response streams, after this view has returned: in the tenant's context.
        response = StreamingHttpResponse(
            stream_in_context(csv_chunks(writer, plan.queryset), request.tenant.pk),
            content_type=CONTENT_TYPES["csv"],
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, kind: str = "customer") -> HttpResponse:
    """GET: what would be exported (the list's filters, the row count, the format); POST: export it.

    The filters always come from the query string, exactly as on the kind's list page, so the export is the list.
    Each app routes its list's export here with its kind's key."""
    export_kind = registry.export_kind(kind)
    export_kind.require_export(request.user)
    fmt = request.POST.get("format") or request.GET.get("format") or "csv"
    if fmt not in FORMATS:
        fmt = "csv"
    here = reverse(export_kind.export_url_name)
    if request.method == "POST":
        try:
            plan = records_export(acting_user=request.user, kind=kind, params=request.GET, fmt=fmt, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(f"{here}?{request.GET.urlencode()}")
        if plan.job is not None:
            messages.info(request, _("Your export is being prepared; it will be listed here when ready."))
            return redirect("customers:exports")
        return _download(plan, request)

    filterset = export_kind.filterset(user=request.user, params=request.GET, request=request)
    valid = filterset.is_valid()
    count = count_capped(filterset.qs) if valid else None
    list_query = request.GET.copy()
    list_query.pop("format", None)
    wording = export_kind.wording(count)
    context = {
        "kind": export_kind,
        "kind_label": export_kind.label(),
        "wording": wording,
        "capped_text": wording["capped"] % {"cap": intcomma(COUNT_CAP)},
        "list_url": reverse(export_kind.list_url_name),
        "filter": filterset,
        "valid": valid,
        "count": count,
        "fmt": fmt,
        "summary": _filter_summary(filterset) if valid else [],
        "capped": count is not None and count > COUNT_CAP,
        "count_cap": COUNT_CAP,
        "as_job": count is not None and count > sync_limit(),
        "sync_limit": sync_limit(),
        "list_query": list_query.urlencode(),
    }
    return render(request, "customers/export/confirm.html", context)


def _pending(page) -> bool:
    return any(job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING) for job in page)


@tenant_required
@vary_on_headers("HX-Request")
def export_list(request: HttpRequest) -> HttpResponse:
    require_export(request.user)
    page = paginate(request, exports_visible_to(request.user).order_by("-created_at", "-pk"))
    labels = {kind.key: kind.label() for kind in registry.export_kinds()}
    for job in page:
        job.kind_label = labels.get(job.kind, job.kind)
    context = {
        "page": page,
        "pending": _pending(page),
        "keep_days": EXPORT_KEEP_DAYS,
        "show_creator": request.user.has_any_role(Role.ADMIN),
    }
    template = "customers/export/rows.html" if request.htmx else "customers/export/list.html"
    return render(request, template, context)


@tenant_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    # Looked up among the user's own exports (all the tenant's for an admin): another tenant's id, or a
    # colleague's export, is 404 like a missing one.
    job = get_object_or_404(exports_visible_to(request.user), pk=pk)
    require_export(request.user)
    if job.status != ExportJob.Status.DONE or not job.file:
        messages.warning(request, _("This export is not ready yet."))
        return redirect("customers:exports")
    try:
        handle = job.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    kind = registry.export_kind(job.kind)
    audit(
        tenant=request.tenant,
        actor=request.user,
        action=kind.download_action(),
        obj=job,
        details={"rows": job.row_count, "format": job.format},
    )
    name = kind.filename(job.format, tz=request.tenant.tzinfo, now=job.created_at)
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES.get(job.format))
    patch_cache_control(response, private=True, no_store=True)
    return response
