"""Settings → audit log and outgoing messages (admins)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm.filters import AuditEventFilter, OutboundMessageFilter
from crm.models import AuditEvent, OutboundMessage
from crm.web import admin_required, paginate


@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    base = AuditEvent.objects.for_tenant(request.tenant).select_related("actor")
    filterset = AuditEventFilter(request.GET or None, queryset=base, tenant=request.tenant)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    return render(
        request, "crm/settings/audit.html", {"filter": filterset, "page": paginate(request, qs.order_by("-at", "-id"))}
    )


STUCK_AFTER = timedelta(minutes=10)


@admin_required
def message_log(request: HttpRequest) -> HttpResponse:
    base = OutboundMessage.objects.for_tenant(request.tenant)
    filterset = OutboundMessageFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = paginate(request, qs.order_by("-created_at", "-id"))
    stuck_before = timezone.now() - STUCK_AFTER
    for message in page:
        # A message left in "sending" by a crash is shown as unknown: it may or may not have gone out.
        message.is_unknown = (
            message.status == OutboundMessage.Status.SENDING
            and message.sending_since
            and message.sending_since < stuck_before
        )
    return render(request, "crm/settings/messages.html", {"filter": filterset, "page": page})
