"""The greeting job: a campaign's due contacts become greetings, coupons and outgoing messages, exactly once.

How "exactly once" holds: the due contacts are selected and inserted as greeting rows in one set-based
`INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING` under the unique key (tenant, campaign, contact, year); only
the rows this run inserted get a coupon and a message, written in the same transaction. A second run, or two at
once (the second insert waits for the first to commit, then finds every key taken), inserts nothing and so sends
nothing; a worker killed mid-run rolls everything back and the next run does the whole of it. Messages are rows
of the one outbox (crm.services.notification), delivered after commit; one whose enqueue was lost is picked up by
the redelivery sweep.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from crm.models import OutboundMessage, Tenant
from crm.services.notification import messages_queue_bulk, render_placeholders
from marketing.models import CareCampaign, Coupon, Greeting
from marketing.selectors.care import campaign_channels, due_parts, greeting_channel, greeting_status, one_off_due

logger = logging.getLogger(__name__)

PLACEHOLDERS = ("contact.name", "customer.name", "coupon.code", "coupon.expires", "owner.name")
# Coupon codes: no 0/O, 1/I/L; 10 characters give 32**10 ≈ 10**15 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
UNSUBSCRIBE_SALT = "marketing.unsubscribe"
CODE_ATTEMPTS = 3


def coupon_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def unsubscribe_token(contact) -> str:
    return signing.dumps([contact.tenant_id, contact.pk], salt=UNSUBSCRIBE_SALT, compress=True)


@functools.lru_cache(maxsize=8)
def _unsubscribe_template(site_url: str) -> str:
    return site_url + reverse("marketing:unsubscribe", args=["TOKEN"])


def unsubscribe_url(contact) -> str:
    # The URL resolved once, the token put in its place: reverse() per greeting cost more than the rest of it.
    return _unsubscribe_template(settings.SITE_URL).replace("TOKEN", unsubscribe_token(contact))


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    try:
        tenant_id, contact_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(tenant_id), int(contact_id)


def placeholder_values(*, contact, customer, coupon, owner, tenant) -> dict[str, str]:
    return {
        "contact.name": contact.name,
        "customer.name": customer.name,
        "coupon.code": coupon.code if coupon else "",
        "coupon.expires": formats.date_format(coupon.expires_on, "SHORT_DATE_FORMAT") if coupon else "",
        "owner.name": (owner.full_name if owner else "") or tenant.name,
    }


def build_message(*, campaign: CareCampaign, channel: str, values: dict[str, str], contact, key: str):
    """An outgoing message (not saved) for one contact: the campaign's text for the channel, rendered in the
    sandbox, with the one-click unsubscribe link (and the List-Unsubscribe headers on email); a marketing message,
    so the messaging layer checks the contact's consent."""
    link = unsubscribe_url(contact)
    if channel == "sms":
        body = render_placeholders(campaign.sms_body, values) + " " + _("Unsubscribe: %(url)s") % {"url": link}
        return OutboundMessage(
            channel=OutboundMessage.Channel.SMS,
            to_address=contact.mobile,
            body=body,
            key=key,
            consent_contact=contact.pk,
        )
    body = render_placeholders(campaign.email_body, values)
    body += "\n\n-- \n" + _("To receive no more messages like this one: %(url)s") % {"url": link}
    return OutboundMessage(
        channel=OutboundMessage.Channel.EMAIL,
        to_address=contact.email,
        subject=render_placeholders(campaign.email_subject, values)[:255],
        body=body,
        key=key,
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        consent_contact=contact.pk,
    )


def _insert_greetings(campaign: CareCampaign, day: dt.date, part) -> list[tuple[int, str]]:
    """Insert the part's due contacts as greetings (one statement); return (id, status) of the rows inserted."""
    channels = campaign_channels(campaign)
    rows = part.contacts.annotate(g_status=greeting_status(channels), g_channel=greeting_channel(channels)).values_list(
        "tenant_id", "pk", "customer_id", "g_status", "g_channel"
    )
    select_sql, params = rows.query.sql_with_params()
    now = timezone.now()
    # `select_sql` is the ORM's own compiled query (its values are parameters), never user text.
    head = "INSERT INTO marketing_greeting (tenant_id, contact_id, customer_id, status, channel, campaign_id, year, "
    head += "occasion, created_at, updated_at) SELECT due.*, %s, %s, %s, %s, %s FROM ("
    tail = ") AS due ON CONFLICT (tenant_id, campaign_id, contact_id, year) DO NOTHING RETURNING id, status"
    sql = head + select_sql + tail
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk, part.year, day, now, now, *params])
        return cursor.fetchall()


def _coupons(campaign: CareCampaign, day: dt.date, greetings: list[Greeting]) -> dict[int, Coupon]:
    if not campaign.coupon_kind or campaign.coupon_value is None:
        return {}
    expires = day + dt.timedelta(days=campaign.coupon_valid_days)
    coupons = [
        Coupon(
            tenant_id=campaign.tenant_id,
            campaign=campaign,
            greeting=greeting,
            customer_id=greeting.customer_id,
            code=coupon_code(),
            kind=campaign.coupon_kind,
            value=campaign.coupon_value,
            min_order=campaign.coupon_min_order,
            expires_on=expires,
        )
        for greeting in greetings
    ]
    Coupon.objects.bulk_create(coupons, batch_size=1000)
    return {c.greeting_id: c for c in coupons}


def _send_campaign(campaign: CareCampaign, day: dt.date) -> dict[str, int]:
    counts = {"greeted": 0, "skipped": 0}
    queued_ids: list[int] = []
    for part in due_parts(campaign, day):
        for greeting_id, status in _insert_greetings(campaign, day, part):
            if status == Greeting.Status.QUEUED:
                queued_ids.append(greeting_id)
            else:
                counts["skipped"] += 1
    if not queued_ids:
        return counts
    greetings = list(
        Greeting.objects.filter(pk__in=queued_ids)
        .select_related("contact", "customer", "customer__owner")
        .order_by("pk")
    )
    coupons = _coupons(campaign, day, greetings)
    tenant = campaign.tenant
    messages = []
    with translation.override(tenant.language):
        for greeting in greetings:
            values = placeholder_values(
                contact=greeting.contact,
                customer=greeting.customer,
                coupon=coupons.get(greeting.pk),
                owner=greeting.customer.owner,
                tenant=tenant,
            )
            messages.append(
                build_message(
                    campaign=campaign,
                    channel=greeting.channel,
                    values=values,
                    contact=greeting.contact,
                    key=f"greeting:{greeting.pk}",
                )
            )
    messages_queue_bulk(tenant_id=campaign.tenant_id, messages=messages)
    # Link each greeting to its message in one statement (over the outbox's unique (tenant, key) index).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE marketing_greeting AS g SET message_id = m.id FROM crm_outboundmessage AS m "
            "WHERE g.id = ANY(%s) AND m.tenant_id = g.tenant_id AND m.key = 'greeting:' || g.id",
            [queued_ids],
        )
    counts["greeted"] = len(greetings)
    return counts


def campaign_send(*, campaign: CareCampaign, day: dt.date) -> dict[str, int]:
    """Greet the contacts `campaign` has due on the tenant-local `day`, in one transaction. Idempotent: what was
    greeted before is left alone. A coupon code that happens to be taken rolls the whole run back and it is tried
    again with new codes."""
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                counts = _send_campaign(campaign, day)
                if campaign.kind == CareCampaign.Kind.ONE_OFF and campaign.send_on == day:
                    CareCampaign.objects.filter(pk=campaign.pk, sent_at__isnull=True).update(sent_at=timezone.now())
                return counts
        except IntegrityError as exc:
            if "marketing_coupon_unique_code" not in str(exc) or attempt == CODE_ATTEMPTS - 1:
                raise
            logger.warning("Campaign %s: a coupon code was taken, trying again", campaign.pk)
    return {"greeted": 0, "skipped": 0}


def one_off_greetings_run(*, tenant_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """The every-minute job for one tenant: its one-off campaigns whose local day and HH:MM have come are sent
    (each once: it is marked sent in the run's transaction, and its greetings are unique anyway)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    totals = {"greeted": 0, "skipped": 0}
    if tenant is None:
        return totals
    now = now or timezone.now()
    day = timezone.localtime(now, tenant.tzinfo).date()
    for campaign in one_off_due(tenant, now):
        campaign.tenant = tenant
        counts = campaign_send(campaign=campaign, day=day)
        for key in totals:
            totals[key] += counts[key]
    return totals


def greetings_run(*, tenant_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """The hourly job for one tenant: every active campaign whose send hour has come in the tenant's local time
    greets today's due contacts (today in the tenant's time zone). Contacts who became due since the last run —
    added later the same day — are greeted now; those greeted before are not."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    totals = {"greeted": 0, "skipped": 0}
    if tenant is None:
        return totals
    local_now = timezone.localtime(now or timezone.now(), tenant.tzinfo)
    campaigns = (
        CareCampaign.objects.filter(tenant_id=tenant_id, is_active=True)
        .filter(Q(send_hour__lt=local_now.hour) | Q(send_hour=local_now.hour, send_minute__lte=local_now.minute))
        .select_related("tenant")
    )
    for campaign in campaigns:
        counts = campaign_send(campaign=campaign, day=local_now.date())
        for key in totals:
            totals[key] += counts[key]
    return totals
