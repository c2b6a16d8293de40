"""Sending scheduled reports: each due subscription's dashboard as a PDF, computed as its recipient sees it and in
their language, stored with a delivery row unique per subscription and period, and announced by an outgoing email
(crm's message rows) that links to it and carries it as an attachment (the link alone when it is too big for an
email). The delivery row, the PDF and the message commit together, so a rerun or a concurrent run finds the row
and sends nothing more."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import Tenant
from crm.services.notification import MessageFile, message_attachments_refusal, notify
from reports.models import ReportDelivery, ReportSubscription
from reports.pdf import dashboard_pdf, pdf_filename
from reports.selectors.dashboard import dashboard_data

logger = logging.getLogger(__name__)


def period_key(subscription: ReportSubscription, local_now: dt.datetime) -> str | None:
    """The period a subscription is due for at the tenant-local `local_now` ("2026-W48" weekly, from Monday at its
    hour; "2026-11" monthly, from the 1st at its hour), or None before its first hour."""
    today = local_now.date()
    if subscription.frequency == ReportSubscription.Frequency.WEEKLY:
        if today.weekday() == 0 and local_now.hour < subscription.hour:
            return None
        year, week, _day = today.isocalendar()
        return f"{year}-W{week:02d}"
    if today.day == 1 and local_now.hour < subscription.hour:
        return None
    return f"{today:%Y-%m}"


def delivery_send(*, subscription: ReportSubscription, key: str) -> ReportDelivery | None:
    """Send one subscription for one period, once: None when this period was already sent (by an earlier or a
    concurrent run)."""
    user = subscription.user
    if not user.is_active or user.tenant_id != subscription.tenant_id:
        return None
    try:
        with transaction.atomic():
            # The unique (subscription, period) row is the claim: a concurrent run waits here, then finds it taken.
            delivery = ReportDelivery.objects.create(
                tenant_id=subscription.tenant_id, subscription=subscription, period_key=key, pdf=b"", filename=""
            )
            with translation.override(user.effective_language):
                data = dashboard_data(user, subscription.dashboard, QueryDict(subscription.filters))
                if data.report is None:
                    data = dashboard_data(user, subscription.dashboard, None)
                delivery.pdf = dashboard_pdf(data, user=user)
                delivery.filename = pdf_filename(data)
                delivery.save(update_fields=["pdf", "filename", "updated_at"])
                title = _("Your report: %(dashboard)s (%(period)s)") % {
                    "dashboard": subscription.get_dashboard_display(),
                    "period": key,
                }
                body = _("%(start)s – %(end)s. The PDF is ready to download.") % {
                    "start": data.scope.period.start.isoformat(),
                    "end": data.scope.period.end.isoformat(),
                }
                # The email carries the PDF too, unless it is too big for one: then the link alone.
                pdf = MessageFile(delivery.filename, "application/pdf", bytes(delivery.pdf))
                too_big = message_attachments_refusal([pdf.size])
                if too_big:
                    body += " " + _("It is too big to attach to this email; download it from the link.")
            notify(
                recipient=user,
                title=title,
                body=body,
                url=reverse("reports:delivery_pdf", args=[delivery.pk]),
                key=f"report:{subscription.pk}:{key}",
                attachments=[] if too_big else [pdf],
            )
    except IntegrityError:
        return None
    return delivery


def deliveries_send_due(*, tenant_id: int, now: dt.datetime | None = None) -> int:
    """Send every active subscription of the tenant that is due and not yet sent for its period."""
    tenant = Tenant.objects.get(pk=tenant_id)
    local_now = timezone.localtime(now or timezone.now(), tenant.tzinfo)
    sent = 0
    subscriptions = ReportSubscription.objects.filter(
        tenant_id=tenant_id, is_active=True, user__is_active=True
    ).select_related("user", "user__tenant", "user__team")
    for subscription in subscriptions:
        key = period_key(subscription, local_now)
        if key is None:
            continue
        if ReportDelivery.objects.filter(tenant_id=tenant_id, subscription=subscription, period_key=key).exists():
            continue
        if delivery_send(subscription=subscription, key=key) is not None:
            sent += 1
    return sent
