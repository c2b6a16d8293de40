"""Reads of blasts: a blast's figures by recipient status (one query), the recipients a user may see."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from crm.models import OutboundMessage, Role
from customers.models import Contact, Customer
from marketing.models import Blast, BlastRecipient, Segment
from marketing.selectors.care import audience_contacts
from marketing.selectors.segment import capped_count, segment_contacts

STATUS = BlastRecipient.Status
MESSAGE = OutboundMessage.Status


def blast_audience(tenant, audience: dict) -> QuerySet:
    """The contacts a blast's audience picks: a segment's (`{"segment": id}`; a segment since deleted picks nobody,
    never everybody), else the care campaigns' customer filters (every live customer's contacts when empty)."""
    if audience.get("segment"):
        segment = Segment.objects.filter(tenant_id=tenant.pk, pk=audience["segment"]).select_related("tenant").first()
        if segment is None:
            return Contact.objects.none()
        return segment_contacts(segment).filter(customer__deleted_at__isnull=True)
    return audience_contacts(tenant, audience)


def blast_audience_counts(tenant, audience: dict) -> dict[str, int]:
    """Contacts in a blast's audience, and how many of them may be messaged (consent, not unsubscribed)."""
    return blast_audience(tenant, audience).aggregate(
        total=Count("pk"), reachable=Count("pk", filter=Q(marketing_consent=True, unsubscribed_at__isnull=True))
    )


def blast_audience_live(tenant, audience: dict, channel: str) -> dict:
    """The blast form's live count: contacts in the audience, and those the blast may message on `channel` (consent,
    not unsubscribed, an address for the channel), each counted to at most COUNT_CAP + 1 rows (two bounded
    queries, whatever the audience's size): {"total", "total_capped", "reachable", "reachable_capped"}."""
    contacts = blast_audience(tenant, audience)
    total, total_capped = capped_count(contacts)
    reachable = contacts.filter(marketing_consent=True, unsubscribed_at__isnull=True)
    reachable = reachable.exclude(mobile="") if channel == Blast.Channel.SMS else reachable.exclude(email="")
    count, capped = capped_count(reachable)
    return {"total": total, "total_capped": total_capped, "reachable": count, "reachable_capped": capped}


def blast_figures(blast: Blast) -> dict[str, int]:
    """Recipients of a blast by where they are: waiting, queued, sent, failed, unknown (a delivery cut off while
    sending: never re-sent blindly), and skipped by reason."""
    queued = Q(status=STATUS.QUEUED)
    return BlastRecipient.objects.filter(tenant_id=blast.tenant_id, blast=blast).aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=STATUS.PENDING)),
        queued=Count("pk", filter=queued & Q(message__status=MESSAGE.QUEUED)),
        sent=Count("pk", filter=queued & Q(message__status=MESSAGE.SENT)),
        failed=Count("pk", filter=queued & Q(message__status=MESSAGE.FAILED)),
        unknown=Count("pk", filter=queued & Q(message__status=MESSAGE.SENDING)),
        no_consent=Count("pk", filter=Q(status=STATUS.NO_CONSENT)),
        unsubscribed=Count("pk", filter=Q(status=STATUS.UNSUBSCRIBED)),
        no_address=Count("pk", filter=Q(status=STATUS.NO_ADDRESS)),
    )


def recipients_visible_to(user, blast: Blast) -> QuerySet:
    """A blast's recipients for the user: an admin sees all; a manager those of the customers they may see."""
    if not (user.is_authenticated and user.tenant_id == blast.tenant_id):
        return BlastRecipient.objects.none()
    recipients = BlastRecipient.objects.filter(tenant_id=blast.tenant_id, blast=blast)
    if user.has_any_role(Role.ADMIN):
        return recipients
    return recipients.filter(Exists(Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))))
