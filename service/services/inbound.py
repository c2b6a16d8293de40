"""Email into the service desk: one message (RFC 822 from a mail server's pipe, or fields a mail provider posts)
becomes a new ticket, or joins the ticket it answers; automatic mail is ignored.

- Threading: the ticket's token in a recipient address (support+<token>@…), else a Message-ID we sent or received
  in In-Reply-To/References. A message already received (same Message-ID, a redelivery) changes nothing.
- Automatic mail and loops are dropped: Auto-Submitted other than "no", Precedence bulk/junk/list/auto_reply,
  X-Autoreply/X-Autorespond, mailer daemons, and more than SERVICE_INBOUND_PER_SENDER messages from one sender
  per hour (a rate limit per tenant and sender, in the cache).
- Attachments pass the desk's checks (service.services.attachment); refused ones are named in the message.
- The sender becomes a contact by `customers.services.sender.customer_for_sender`.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction

from crm.models import Tenant
from customers.services.sender import customer_for_sender
from service.models import Channel, Ticket, TicketMessage
from service.services.attachment import attachments_accepted
from service.services.ticket import ticket_create, ticket_customer_message

logger = logging.getLogger(__name__)

MAX_BODY = 100_000
# Attachments read from one message at most (the rest are dropped unread).
MAX_FILES_READ = 20
OUR_ID = re.compile(r"<ticket-(\d+)-\d+\.([0-9a-f]+)@", re.IGNORECASE)
TOKEN_IN_ADDRESS = re.compile(r"\+([0-9a-f]{24})@", re.IGNORECASE)
DAEMONS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply", "donotreply")
BULK = {"bulk", "junk", "list", "auto_reply"}


@dataclass
class InboundMail:
    from_email: str
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    auto_submitted: str = ""
    precedence: str = ""
    autoreply: bool = False
    # The message's attached files (checked when they are filed: the ones refused are named in the message).
    files: list[File] = field(default_factory=list)


def parse_message(raw: bytes) -> InboundMail:
    """An RFC 822 message: sender, recipients, subject, the plain-text body (or HTML's text) and the headers that
    matter for threading and loops."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(message.get("Reply-To") or message.get("From") or ""))
    recipients = [
        a for _n, a in getaddresses([str(v) for k in ("To", "Cc", "Delivered-To") for v in message.get_all(k) or []])
    ]
    part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if part is not None:
        body = part.get_content()
        if part.get_content_type() == "text/html":
            body = re.sub(r"<[^>]+>", " ", body)
    files = []
    for attachment in message.iter_attachments():
        payload = attachment.get_payload(decode=True)
        if isinstance(payload, bytes) and len(files) < MAX_FILES_READ:
            files.append(ContentFile(payload, name=str(attachment.get_filename() or "attachment")))
    return InboundMail(
        files=files,
        from_email=address,
        from_name=name,
        to=recipients,
        subject=str(message.get("Subject") or "").strip(),
        body=body.strip()[:MAX_BODY],
        message_id=str(message.get("Message-ID") or "").strip(),
        in_reply_to=str(message.get("In-Reply-To") or "").strip(),
        references=str(message.get("References") or "").split(),
        auto_submitted=str(message.get("Auto-Submitted") or "").strip().lower(),
        precedence=str(message.get("Precedence") or "").strip().lower(),
        autoreply=bool(message.get("X-Autoreply") or message.get("X-Autorespond")),
    )


def automatic_reason(mail: InboundMail) -> str:
    """Why the message is automatic (and ignored), or "" for a person's message."""
    if mail.auto_submitted and mail.auto_submitted != "no":
        return "auto-submitted"
    if mail.precedence in BULK:
        return "precedence"
    if mail.autoreply:
        return "autoreply header"
    local = mail.from_email.partition("@")[0].lower()
    if not mail.from_email or any(local.startswith(d) for d in DAEMONS):
        return "daemon sender"
    if mail.from_email.lower() == parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower():
        return "our own address"
    return ""


def _over_sender_limit(tenant_id: int, sender: str) -> bool:
    key = f"service:inbound:{tenant_id}:{sender.lower()}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=3600)
        count = 1
    return count > settings.SERVICE_INBOUND_PER_SENDER


def _thread(tenant: Tenant, mail: InboundMail) -> Ticket | None:
    tickets = Ticket.objects.filter(tenant=tenant)
    for address in mail.to:
        match = TOKEN_IN_ADDRESS.search(address)
        if match:
            found = tickets.filter(reply_token=match.group(1).lower()).first()
            if found is not None:
                return found
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    for value in ids:
        match = OUR_ID.search(value)
        if match:
            found = tickets.filter(pk=int(match.group(1)), reply_token=match.group(2).lower()).first()
            if found is not None:
                return found
    if ids:
        known = (
            TicketMessage.objects.filter(tenant=tenant, message_id__in=ids[:50])
            .exclude(message_id="")
            .select_related("ticket")
            .first()
        )
        if known is not None:
            return known.ticket
    return None


def inbound_receive(*, tenant: Tenant, mail: InboundMail) -> Ticket | None:
    """File one message; None when it was ignored (automatic, over the sender's limit)."""
    reason = automatic_reason(mail)
    if reason:
        logger.info("Inbound mail for tenant %s ignored: %s", tenant.pk, reason)
        return None
    if mail.message_id:
        seen = TicketMessage.objects.filter(tenant=tenant, message_id=mail.message_id).select_related("ticket").first()
        if seen is not None:
            return seen.ticket
    if _over_sender_limit(tenant.pk, mail.from_email):
        logger.warning("Inbound mail for tenant %s ignored: too many messages from one sender", tenant.pk)
        return None
    body = mail.body or mail.subject
    files, refused = attachments_accepted(mail.files)
    if refused:
        logger.info("Inbound mail for tenant %s: %d attachments refused", tenant.pk, len(refused))
        body = "\n".join([body, "", *refused])
    with transaction.atomic():
        ticket = _thread(tenant, mail)
        if ticket is not None:
            ticket_customer_message(ticket=ticket, body=body, message_id=mail.message_id, files=files)
            return ticket
        customer, contact = customer_for_sender(tenant=tenant, email=mail.from_email, name=mail.from_name)
        return ticket_create(
            tenant=tenant,
            acting_user=None,
            customer=customer,
            contact=contact,
            subject=mail.subject or body[:80] or "(no subject)",
            description=body,
            channel=Channel.EMAIL,
            message_id=mail.message_id,
            files=files,
        )
