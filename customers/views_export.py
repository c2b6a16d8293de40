"""Export, recycle-bin and merge pages. Thin: parse, call exporter / services / merge, render."""

from __future__ import annotations

import io
import math
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.models import Role
from crm.services import DomainError, audit
from crm.tenancy import stream_in_context
from crm.views import paginate, tenant_required

from . import exporter, services
from .filters import search_customers
from .merge import customer_merge, merge_preview, mergeable_by
from .models import Contact, Customer, ExportJob, OwnershipEvent

# --- export --------------------------------------------------------------------------------------------------


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


def _download(plan: exporter.ExportPlan, request: HttpRequest) -> HttpResponse:
    tz = request.tenant.tzinfo
    name = exporter.filename(plan.fmt, tz=tz, now=timezone.now())
    if plan.fmt == "xlsx":
        buffer = io.BytesIO()
        exporter.write_xlsx(plan.queryset, buffer, tz=tz)
        response = HttpResponse(buffer.getvalue(), content_type=exporter.CONTENT_TYPES["xlsx"])
    else:
        # The rows are read while the response streams, after this view has returned: in the tenant's context.
        response = StreamingHttpResponse(
            stream_in_context(exporter.csv_chunks(plan.queryset, tz=tz), request.tenant.pk),
            content_type=exporter.CONTENT_TYPES["csv"],
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    """GET: what would be exported (the list's filters, the row count, the format); POST: export it.

    The filters always come from the query string, exactly as on the list page, so the export is the list."""
    exporter.require_export(request.user)
    fmt = request.POST.get("format") or request.GET.get("format") or "csv"
    if fmt not in exporter.FORMATS:
        fmt = "csv"
    if request.method == "POST":
        try:
            plan = exporter.customer_export(acting_user=request.user, params=request.GET, fmt=fmt, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(f"{reverse('customers:export')}?{request.GET.urlencode()}")
        if plan.job is not None:
            messages.info(request, _("Your export is being prepared; it will be listed here when ready."))
            return redirect("customers:exports")
        return _download(plan, request)

    filterset = exporter.customer_filterset(user=request.user, params=request.GET, request=request)
    valid = filterset.is_valid()
    count = exporter.count_capped(filterset.qs) if valid else None
    list_query = request.GET.copy()
    list_query.pop("format", None)
    context = {
        "filter": filterset,
        "valid": valid,
        "count": count,
        "fmt": fmt,
        "summary": _filter_summary(filterset) if valid else [],
        "capped": count is not None and count > exporter.COUNT_CAP,
        "count_cap": exporter.COUNT_CAP,
        "as_job": count is not None and count > exporter.sync_limit(),
        "sync_limit": exporter.sync_limit(),
        "list_query": list_query.urlencode(),
    }
    return render(request, "customers/export/confirm.html", context)


def _pending(page) -> bool:
    return any(job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING) for job in page)


@tenant_required
@vary_on_headers("HX-Request")
def export_list(request: HttpRequest) -> HttpResponse:
    exporter.require_export(request.user)
    page = paginate(request, exporter.exports_visible_to(request.user).order_by("-created_at", "-pk"))
    context = {
        "page": page,
        "pending": _pending(page),
        "keep_days": exporter.EXPORT_KEEP_DAYS,
        "show_creator": request.user.has_role(Role.ADMIN),
    }
    template = "customers/export/rows.html" if request.htmx else "customers/export/list.html"
    return render(request, template, context)


@tenant_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    # Looked up among the user's own exports (all the tenant's for an admin): another tenant's id, or a
    # colleague's export, is 404 like a missing one.
    job = get_object_or_404(exporter.exports_visible_to(request.user), pk=pk)
    exporter.require_export(request.user)
    if job.status != ExportJob.Status.DONE or not job.file:
        messages.warning(request, _("This export is not ready yet."))
        return redirect("customers:exports")
    try:
        handle = job.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    audit(
        tenant=request.tenant,
        actor=request.user,
        action="customer.export.download",
        obj=job,
        details={"rows": job.row_count, "format": job.format},
    )
    name = exporter.filename(job.format, tz=request.tenant.tzinfo, now=job.created_at)
    response = FileResponse(
        handle, as_attachment=True, filename=name, content_type=exporter.CONTENT_TYPES.get(job.format)
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- recycle bin ---------------------------------------------------------------------------------------------


@tenant_required
@require_http_methods(["GET"])
def trash(request: HttpRequest) -> HttpResponse:
    merged = OwnershipEvent.objects.filter(customer=OuterRef("pk"), reason=OwnershipEvent.Reason.MERGE)
    qs = (
        Customer.objects.in_trash_for(request.user)
        .select_related("owner", "deleted_by", "pool")
        .annotate(was_merged=Exists(merged))
    )
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(name__icontains=query)
    page = paginate(request, qs.order_by("-deleted_at", "-pk"))
    now = timezone.now()
    window = timedelta(days=services.TRASH_DAYS)
    for customer in page:
        customer.purge_at = customer.deleted_at + window
        customer.days_left = max(0, math.ceil((customer.purge_at - now).total_seconds() / 86400))
    return render(request, "customers/trash.html", {"page": page, "query": query, "trash_days": services.TRASH_DAYS})


@tenant_required
@require_POST
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.in_trash_for(request.user), pk=pk)
    try:
        customer = services.customer_restore(acting_user=request.user, customer=customer)
    except DomainError as exc:
        # A DuplicateCustomer says which identifier is taken and who holds it now, as far as the user may know.
        messages.error(
            request,
            _("“%(name)s” was not restored: %(reason)s") % {"name": customer.name, "reason": exc.message},
        )
        return redirect("customers:trash")
    messages.success(request, _("“%(name)s” is restored.") % {"name": customer.name})
    if Customer.objects.visible_to(request.user).filter(pk=customer.pk).exists():
        return redirect("customers:detail", pk=customer.pk)
    return redirect("customers:trash")


# --- merge ---------------------------------------------------------------------------------------------------


def _comparison(keep: Customer, other: Customer, filled: list[str]) -> list[dict]:
    """Rows of the side-by-side table: each field of both customers and what the merged customer keeps."""

    def show(customer: Customer, field: str) -> str:
        if field == "level_id":
            return str(customer.level) if customer.level else ""
        if field == "owner":
            return customer.owner.full_name if customer.owner else ""
        if field == "kind":
            return customer.get_kind_display()
        if field == "status":
            return customer.get_status_display()
        if field == "is_key_account":
            return _("Yes") if customer.is_key_account else _("No")
        if field in ("last_followed_up_at", "created_at"):
            value = getattr(customer, field)
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""
        return str(getattr(customer, field) or "")

    labels = [
        ("name", _("Name")),
        ("kind", _("Type")),
        ("status", _("Status")),
        ("level_id", _("Level")),
        ("owner", _("Owner")),
        ("industry", _("Industry")),
        ("region", _("Region")),
        ("source", _("Source")),
        ("credit_code", _("Unified social credit code")),
        ("address", _("Address")),
        ("website", _("Website")),
        ("is_key_account", _("Key account")),
        ("last_followed_up_at", _("Last follow-up")),
        ("created_at", _("Created")),
    ]
    rows = []
    for field, label in labels:
        mine, theirs = show(keep, field), show(other, field)
        if field in filled:
            result, source = theirs, "other"
        elif field == "is_key_account":
            result = _("Yes") if keep.is_key_account or other.is_key_account else _("No")
            source = "other" if other.is_key_account and not keep.is_key_account else "keep"
        elif (
            field == "last_followed_up_at"
            and other.last_followed_up_at
            and (not keep.last_followed_up_at or other.last_followed_up_at > keep.last_followed_up_at)
        ):
            result, source = theirs, "other"
        else:
            result, source = mine, "keep"
        rows.append({"label": label, "keep": mine, "other": theirs, "result": result, "from_other": source == "other"})
    return rows


def _parse_id(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#")
    return int(value) if value.isdigit() and len(value) < 19 else None


@tenant_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another customer into this one: find it by search or number, see both side by side, confirm."""
    user = request.user
    keep = get_object_or_404(Customer.objects.visible_to(user).select_related("owner", "level", "pool"), pk=pk)
    candidates_qs = mergeable_by(user)
    if not candidates_qs.filter(pk=keep.pk).exists():
        raise PermissionDenied(_("Only the managers of its owner's team and administrators merge this customer."))

    error = None
    other = None
    raw_other = request.POST.get("other") if request.method == "POST" else request.GET.get("other")
    query = request.GET.get("q", "").strip()
    if raw_other:
        other_id = _parse_id(raw_other)
        if other_id == keep.pk:
            error = _("A customer cannot be merged into itself.")
        else:
            other = (
                candidates_qs.select_related("owner", "level", "pool").filter(pk=other_id).first() if other_id else None
            )
            if other is None:
                error = _("No customer with this number that you may merge.")

    if request.method == "POST" and other is not None:
        try:
            customer_merge(acting_user=user, keep=keep, merge=other)
        except (DomainError, PermissionDenied) as exc:
            error = getattr(exc, "message", None) or str(exc) or _("These customers cannot be merged.")
        else:
            messages.success(
                request, _("“%(merged)s” is merged into “%(keep)s”.") % {"merged": other.name, "keep": keep.name}
            )
            return redirect("customers:detail", pk=keep.pk)

    candidates = []
    if query and other is None:
        candidates = list(
            search_customers(candidates_qs.exclude(pk=keep.pk), query, request.tenant)
            .select_related("owner")
            .order_by("name", "pk")[:20]
        )
    preview = merge_preview(keep=keep, merge=other) if other is not None else None
    contacts = {}
    if other is not None:
        for contact in Contact.objects.filter(customer_id__in=[keep.pk, other.pk]).order_by("-is_primary", "name"):
            contacts.setdefault(contact.customer_id, []).append(contact)
    context = {
        "keep": keep,
        "other": other,
        "query": query,
        "candidates": candidates,
        "preview": preview,
        "comparison": _comparison(keep, other, preview.filled) if preview else [],
        "keep_contacts": contacts.get(keep.pk, []),
        "other_contacts": contacts.get(other.pk, []) if other else [],
        "error": error,
    }
    status = 422 if request.method == "POST" and error else 200
    return render(request, "customers/merge.html", context, status=status)
