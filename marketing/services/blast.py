"""Email and SMS blasts of marketing campaigns: save, schedule, cancel, "send me a test", and the throttled job.

How a blast is sent exactly once per contact, at the company's rate, and resumed after a crash:
- when its time comes, its audience's contacts are inserted as recipient rows in one statement
  (`INSERT … SELECT … ON CONFLICT DO NOTHING` under the unique key (tenant, blast, contact)), each waiting, or
  skipped with its reason (no consent, unsubscribed, no address: the care greetings' own rule);
- every minute the job takes at most the company's rate of waiting recipients (`FOR UPDATE SKIP LOCKED`, so two
  runs at once share nothing), writes their messages to the one outbox under the key `blast:<recipient id>` and
  marks them queued, in one transaction. A worker killed mid-way rolls the batch back: the next run takes the same
  recipients again; a committed batch is never taken again. Delivery (queued → sent or failed, retried with backoff)
  is the outbox's (crm.services.notification).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import OutboundMessage, Tenant, User
from crm.services.audit import audit
from crm.services.notification import message_queue, messages_queue_bulk
from marketing.access import require_campaign_manager
from marketing.models import Blast, BlastRecipient, MarketingCampaign, MarketingSettings
from marketing.selectors.blast import blast_audience
from marketing.selectors.care import greeting_status
from marketing.services.greeting import build_message, placeholder_values

BLAST_FIELDS = ["name", "channel", "audience", "email_subject", "email_body", "sms_body", "send_at"]
EDITABLE = (Blast.Status.DRAFT, Blast.Status.SCHEDULED)


def blast_rate(tenant_id: int) -> int:
    """How many blast messages the company sends per minute (its setting, else MARKETING_BLAST_RATE_PER_MINUTE)."""
    rate = MarketingSettings.objects.filter(tenant_id=tenant_id).values_list("blast_rate_per_minute", flat=True)
    return rate.first() or settings.MARKETING_BLAST_RATE_PER_MINUTE


def marketing_settings_save(*, acting_user: User, blast_rate_per_minute: int) -> MarketingSettings:
    """Change the company's blast rate (managers and admins)."""
    require_campaign_manager(acting_user)
    if not 1 <= blast_rate_per_minute <= 10000:
        raise DomainError(_("Give a rate between 1 and 10,000 messages a minute."), field="blast_rate_per_minute")
    with transaction.atomic():
        row, _created = MarketingSettings.objects.update_or_create(
            tenant=acting_user.tenant, defaults={"blast_rate_per_minute": blast_rate_per_minute}
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="marketing_settings.save",
            details={"blast_rate_per_minute": blast_rate_per_minute},
        )
    return row


def _check_text(blast: Blast) -> None:
    if blast.channel == Blast.Channel.EMAIL and not (blast.email_subject and blast.email_body):
        raise DomainError(_("An email blast needs a subject and a text."), field="email_body")
    if blast.channel == Blast.Channel.SMS and not blast.sms_body:
        raise DomainError(_("An SMS blast needs its text."), field="sms_body")


def blast_save(
    *, acting_user: User, campaign: MarketingCampaign, data: dict[str, Any], blast: Blast | None = None
) -> Blast:
    """Create or change a blast while it is a draft or scheduled (what is sending or sent stays as it was)."""
    require_campaign_manager(acting_user)
    if campaign.tenant_id != acting_user.tenant_id:
        raise DomainError(_("This campaign is not your company's."))
    with transaction.atomic():
        if blast is None:
            blast = Blast(tenant=acting_user.tenant, created_by=acting_user, campaign=campaign)
        else:
            blast = Blast.objects.select_for_update().get(pk=blast.pk, tenant_id=acting_user.tenant_id)
            if blast.status not in EDITABLE:
                raise DomainError(_("This blast is sending or done: it can no longer change."))
        for key in BLAST_FIELDS:
            if key in data:
                setattr(blast, key, data[key] if data[key] is not None or key == "send_at" else "")
        _check_text(blast)
        blast.save()
        audit(tenant=acting_user.tenant, actor=acting_user, action="blast.save", obj=blast)
    return blast


def blast_schedule(*, acting_user: User, blast: Blast, send_at: dt.datetime | None = None) -> Blast:
    """Send a draft blast at `send_at` (now when not given): the next run of the job from then on starts it."""
    require_campaign_manager(acting_user)
    with transaction.atomic():
        blast = Blast.objects.select_for_update().get(pk=blast.pk, tenant_id=acting_user.tenant_id)
        if blast.status not in EDITABLE:
            raise DomainError(_("This blast is sending or done already."))
        _check_text(blast)
        blast.send_at = send_at or blast.send_at or timezone.now()
        blast.status = Blast.Status.SCHEDULED
        blast.save(update_fields=["send_at", "status", "updated_at"])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="blast.schedule",
            obj=blast,
            details={"send_at": blast.send_at.isoformat()},
        )
    return blast


def blast_cancel(*, acting_user: User, blast: Blast) -> Blast:
    """Stop a scheduled or sending blast: recipients still waiting are not messaged; what was queued goes out."""
    require_campaign_manager(acting_user)
    with transaction.atomic():
        blast = Blast.objects.select_for_update().get(pk=blast.pk, tenant_id=acting_user.tenant_id)
        if blast.status not in (Blast.Status.DRAFT, Blast.Status.SCHEDULED, Blast.Status.SENDING):
            raise DomainError(_("This blast is done already."))
        blast.status = Blast.Status.CANCELLED
        blast.finished_at = timezone.now()
        blast.save(update_fields=["status", "finished_at", "updated_at"])
        audit(tenant=acting_user.tenant, actor=acting_user, action="blast.cancel", obj=blast)
    return blast


def blast_preview(*, blast: Blast, contact) -> OutboundMessage:
    """The message `contact` would get (not saved), rendered in the sandbox with the care placeholders (a blast
    carries no coupon: its coupon placeholders are empty)."""
    values = placeholder_values(
        contact=contact, customer=contact.customer, coupon=None, owner=contact.customer.owner, tenant=blast.tenant
    )
    with translation.override(blast.tenant.language):
        return build_message(campaign=blast, channel=blast.channel, values=values, contact=contact, key="")


def blast_send_test(*, acting_user: User, blast: Blast, contact) -> OutboundMessage:
    """Send the blast as `contact` would get it to the acting user's own email (an SMS blast's text too). No
    recipient is recorded."""
    require_campaign_manager(acting_user)
    preview = blast_preview(blast=blast, contact=contact)
    subject = preview.subject or _("SMS: %(blast)s") % {"blast": blast.name}
    with transaction.atomic():
        message = message_queue(
            tenant_id=acting_user.tenant_id,
            recipient=acting_user,
            to_address=acting_user.email,
            subject=_("[Test] %(subject)s") % {"subject": subject},
            body=preview.body,
            key=f"blast-test:{blast.pk}:{uuid.uuid4()}",
        )
        audit(tenant=acting_user.tenant, actor=acting_user, action="blast.test", obj=blast)
    return message


# --- the job ---------------------------------------------------------------------------------------------------


def _insert_recipients(blast: Blast) -> int:
    """The audience's contacts as recipient rows, in one statement; returns how many rows were inserted."""
    channels = [blast.channel]
    rows = (
        blast_audience(blast.tenant, blast.audience)
        .filter(erased_at__isnull=True)
        .annotate(r_status=greeting_status(channels, BlastRecipient.Status.PENDING.value))
        .values_list("tenant_id", "pk", "customer_id", "r_status")
    )
    try:
        select_sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # an audience that picks nobody (a deleted segment, a filter value gone)
        return 0
    now = timezone.now()
    # `select_sql` is the ORM's own compiled query (its values are parameters), never user text.
    head = "INSERT INTO marketing_blastrecipient (tenant_id, contact_id, customer_id, status, blast_id, created_at, "
    head += "updated_at) SELECT src.*, %s, %s, %s FROM ("
    tail = ") AS src ON CONFLICT (tenant_id, blast_id, contact_id) DO NOTHING"
    sql = head + select_sql + tail
    with connection.cursor() as cursor:
        cursor.execute(sql, [blast.pk, now, now, *params])
        return cursor.rowcount


def _start_due(tenant_id: int, now: dt.datetime) -> int:
    """Scheduled blasts whose time has come become sending, their recipients inserted (each in one transaction)."""
    started = 0
    due = Blast.objects.filter(tenant_id=tenant_id, status=Blast.Status.SCHEDULED, send_at__lte=now)
    for blast_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            blast = (
                Blast.objects.select_for_update(skip_locked=True)
                .select_related("tenant")
                .filter(pk=blast_id, status=Blast.Status.SCHEDULED)
                .first()
            )
            if blast is None:
                continue
            _insert_recipients(blast)
            blast.status, blast.started_at = Blast.Status.SENDING, now
            blast.save(update_fields=["status", "started_at", "updated_at"])
            started += 1
    return started


def _send_batch(tenant: Tenant, limit: int) -> int:
    """Queue the messages of up to `limit` waiting recipients of the company's sending blasts, in one transaction;
    returns how many were queued."""
    with transaction.atomic():
        recipients = list(
            BlastRecipient.objects.filter(
                tenant_id=tenant.pk, status=BlastRecipient.Status.PENDING, blast__status=Blast.Status.SENDING
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("blast", "contact", "customer", "customer__owner")
            .order_by("blast_id", "pk")[:limit]
        )
        if not recipients:
            return 0
        messages = []
        with translation.override(tenant.language):
            for recipient in recipients:
                blast = recipient.blast
                blast.tenant = tenant
                values = placeholder_values(
                    contact=recipient.contact,
                    customer=recipient.customer,
                    coupon=None,
                    owner=recipient.customer.owner,
                    tenant=tenant,
                )
                messages.append(
                    build_message(
                        campaign=blast,
                        channel=blast.channel,
                        values=values,
                        contact=recipient.contact,
                        key=f"blast:{recipient.pk}",
                    )
                )
        messages_queue_bulk(tenant_id=tenant.pk, messages=messages)
        ids = [r.pk for r in recipients]
        # Each recipient to its message in one statement (over the outbox's unique (tenant, key) index).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE marketing_blastrecipient AS r SET status = %s, message_id = m.id, updated_at = %s "
                "FROM crm_outboundmessage AS m "
                "WHERE r.id = ANY(%s) AND m.tenant_id = r.tenant_id AND m.key = 'blast:' || r.id",
                [BlastRecipient.Status.QUEUED.value, timezone.now(), ids],
            )
        return len(recipients)


def _finish_done(tenant_id: int, now: dt.datetime) -> int:
    """Sending blasts with no recipient waiting are done (one statement)."""
    waiting = BlastRecipient.objects.filter(
        tenant_id=tenant_id, status=BlastRecipient.Status.PENDING, blast_id=OuterRef("pk")
    )
    return (
        Blast.objects.filter(tenant_id=tenant_id, status=Blast.Status.SENDING)
        .exclude(Exists(waiting))
        .update(status=Blast.Status.DONE, finished_at=now, updated_at=now)
    )


def blasts_run(*, tenant_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """The job for one company, every minute: start the blasts whose time has come, queue at most the company's
    rate of messages, and close the blasts with nobody left waiting. Idempotent and safe to run twice at once."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"started": 0, "queued": 0, "done": 0}
    now = now or timezone.now()
    started = _start_due(tenant_id, now)
    queued = _send_batch(tenant, blast_rate(tenant_id))
    done = _finish_done(tenant_id, now)
    return {"started": started, "queued": queued, "done": done}
