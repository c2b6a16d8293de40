"""Settings → audit log and outgoing messages (admins)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from crm.access import require_admin
from crm.filters import AuditEventFilter, OutboundMessageFilter
from crm.models import AuditEvent, OutboundMessage
from crm.selectors.audit import audit_events_for, describe
from crm.selectors.audit import audit_items as audit_items_of
from crm.spreadsheet import neutralise
from crm.web import PAGE_SIZE, CappedPaginator, admin_required, paginate, tenant_required

# The CSV holds at most this many events (narrow the dates for older ones), described this many at a time.
EXPORT_ROWS = 50_000
EXPORT_CHUNK = 500


def _filtered_events(request: HttpRequest) -> tuple[AuditEventFilter, QuerySet[AuditEvent]]:
    base = audit_events_for(request.tenant)
    filterset = AuditEventFilter(request.GET or None, queryset=base, tenant=request.tenant)
    return filterset, (filterset.qs if filterset.is_bound and filterset.is_valid() else base)


@admin_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every change that matters, newest first, each as a sentence in the reader's language."""
    filterset, events = _filtered_events(request)
    page = CappedPaginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    lines = describe(list(page), tenant=request.tenant)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "crm/settings/audit.html",
        {"filter": filterset, "page": page, "lines": lines, "query": query.urlencode()},
    )


@tenant_required
@require_GET
def audit_items(request: HttpRequest, pk: int) -> HttpResponse:
    """The objects one bulk action or import touched (the expanded event). Another tenant's event is 404 for
    everyone; the tenant's own, 403 for all but admins."""
    event = get_object_or_404(AuditEvent.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    items, total = audit_items_of(event)
    return render(
        request, "crm/settings/partials/audit_items.html", {"items": items, "more": max(total - len(items), 0)}
    )


@admin_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV (at most EXPORT_ROWS events, newest first), each cell safe to open in a spreadsheet."""
    events = _filtered_events(request)[1]

    tenant = request.tenant
    header = [
        _("When"),
        _("Who"),
        _("Action"),
        pgettext("audit log", "What happened"),
        _("Object"),
        _("Count"),
        _("Details"),
    ]

    def lines(chunk: list[AuditEvent]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for line in describe(chunk, tenant=tenant):
            event = line.event
            cells = (
                timezone.localtime(event.at, tenant.tzinfo).strftime("%Y-%m-%d %H:%M:%S"),
                event.actor.full_name if event.actor else _("The system"),
                line.action_label,
                line.text,
                event.object_repr,
                "" if line.count is None else str(line.count),
                json.dumps(event.details, ensure_ascii=False, sort_keys=True),
            )
            writer.writerow([neutralise(cell) for cell in cells])
        return buffer.getvalue()

    # Built whole within the request: the tenant's context (row-level security) holds only while the view runs.
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header)
    chunk: list[AuditEvent] = []
    for event in events[:EXPORT_ROWS].iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(event)
        if len(chunk) == EXPORT_CHUNK:
            buffer.write(lines(chunk))
            chunk = []
    buffer.write(lines(chunk))
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response


STUCK_AFTER = timedelta(minutes=10)


@admin_required
def message_log(request: HttpRequest) -> HttpResponse:
    base = OutboundMessage.objects.for_tenant(request.tenant)
    filterset = OutboundMessageFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = paginate(request, qs.order_by("-created_at", "-id").prefetch_related("attachments"))
    stuck_before = timezone.now() - STUCK_AFTER
    for message in page:
        # A message left in "sending" by a crash is shown as unknown: it may or may not have gone out.
        message.is_unknown = (
            message.status == OutboundMessage.Status.SENDING
            and message.sending_since
            and message.sending_since < stuck_before
        )
    return render(request, "crm/settings/messages.html", {"filter": filterset, "page": page})
