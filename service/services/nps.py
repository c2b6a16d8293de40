"""NPS relationship surveys: an administrator sends a round to the contacts of the customers matching the customer
list's filters; a throttled job queues the invitations at the tenant's rate; contacts answer 0–10 through a signed
link without a login.

The audience follows the care messages' rules: only contacts with marketing consent who have not unsubscribed (and
whose data was not erased) and who have an email address; each invitation carries the one-click unsubscribe link
(and the List-Unsubscribe headers), which unsubscribes the contact from every such message
(customers.services.contact.contact_unsubscribe). Creating a round inserts its invitations in one
`INSERT … SELECT … ON CONFLICT DO NOTHING` and sends nothing itself; `nps_send_pending` sends at most
`NPS_SEND_PER_RUN` a run (one run a minute), claiming the rows it sends with `FOR UPDATE SKIP LOCKED`, so two
workers never send one invitation twice.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import OutboundMessage, Tenant, User
from crm.registry import registry
from crm.services import outbox
from crm.services.audit import audit
from crm.services.notification import messages_queue_bulk
from crm.tenancy import tenants_having
from customers.filters import CustomerFilter
from customers.models import Contact, Customer
from service import tasks
from service.models import NpsResponse, NpsRound
from service.services.survey import NPS, _check_open, _clean_comment, survey_link, survey_token

DEFAULT_DAYS = 14


def audience_customers(*, acting_user: User, audience: str):
    """The customers of an audience a higher app offers through the registry (crm.registry.CustomerAudience), named
    "<key>:<id>" ("segment:12"); refused when it is not one the user may pick."""
    key, _sep, ident = (audience or "").partition(":")
    source = registry.customer_audience(key)
    customers = source.customers(acting_user, ident) if source is not None else None
    if customers is None:
        raise DomainError(_("That audience is not available any more: choose another."), field="audience")
    return customers


def nps_audience(*, acting_user: User, query: str, audience: str = ""):
    """The contacts a round reaches: the customers the administrator sees matching the customer-list filters (a
    query string, as a saved view keeps it), or those of a chosen audience such as a marketing segment
    ("segment:12"), then their contacts with consent, not unsubscribed, with an email."""
    if audience:
        customers = audience_customers(acting_user=acting_user, audience=audience)
    else:
        request = SimpleNamespace(tenant=acting_user.tenant, user=acting_user)
        customers = CustomerFilter(
            QueryDict(query or ""), queryset=Customer.objects.visible_to(acting_user), request=request
        ).qs
    return Contact.objects.filter(
        tenant_id=acting_user.tenant_id,
        customer__in=customers.order_by().values("pk"),
        marketing_consent=True,
        unsubscribed_at__isnull=True,
        erased_at__isnull=True,
    ).exclude(email="")


def nps_round_create(
    *,
    acting_user: User,
    name: str,
    query: str = "",
    audience: str = "",
    days: int = DEFAULT_DAYS,
    now: dt.datetime | None = None,
) -> tuple[NpsRound, int]:
    """Start a round (administrators): its invitations are written now, one per reachable contact of the filters or
    of the chosen audience (a segment), and sent by the throttled job. Returns the round and how many contacts it
    invites."""
    require_admin(acting_user)
    now = now or timezone.now()
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError(_("Give the survey a name."), field="name")
    if not 1 <= days <= 90:
        raise DomainError(_("Choose between 1 and 90 days."), field="days")
    contacts = (
        nps_audience(acting_user=acting_user, query=query, audience=audience)
        .order_by()
        .values_list("tenant_id", "pk", "customer_id")
    )
    try:
        with transaction.atomic():
            nps_round = NpsRound.objects.create(
                tenant_id=acting_user.tenant_id,
                name=name,
                filters={"audience": audience} if audience else {"query": query or ""},
                expires_at=now + dt.timedelta(days=days),
                created_by=acting_user,
            )
            select_sql, params = contacts.query.sql_with_params()
            # `select_sql` is the ORM's own compiled query (its values are parameters), never user text.
            head = "INSERT INTO service_npsresponse (tenant_id, contact_id, customer_id, round_id, status, comment, "
            head += "created_at, updated_at) SELECT a.*, %s, 'pending', '', %s, %s FROM ("
            tail = ") AS a ON CONFLICT (tenant_id, round_id, contact_id) DO NOTHING"
            sql = head + select_sql + tail
            with connection.cursor() as cursor:
                cursor.execute(sql, [nps_round.pk, now, now, *params])
                invited = cursor.rowcount
            if invited:
                outbox.enqueue(tasks.send_tenant_nps, acting_user.tenant_id)
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="nps.create",
                obj=nps_round,
                details={"invited": invited, **({"audience": audience} if audience else {"query": query or ""})},
            )
    except IntegrityError as exc:
        if "service_nps_unique_name" not in str(exc):
            raise
        raise DomainError(_("A survey of that name exists already."), field="name") from exc
    return nps_round, invited


def unsubscribe_link(response_pk: int, tenant_id: int) -> str:
    token = survey_token(NPS, tenant_id, response_pk)
    return settings.SITE_URL + reverse("service:survey_unsubscribe", args=[token])


def _message(response: NpsResponse, tenant: Tenant) -> OutboundMessage:
    link = survey_link(NPS, tenant.pk, response.pk)
    stop = unsubscribe_link(response.pk, tenant.pk)
    body = _(
        "Dear %(name)s,\n\nHow likely are you to recommend %(company)s to a friend or colleague? One click on a score "
        "from 0 to 10 tells us:\n\n%(url)s\n\nThank you!\n%(company)s"
    ) % {"name": response.contact.name, "company": tenant.name, "url": link}
    body += "\n\n-- \n" + _("To receive no more messages like this one: %(url)s") % {"url": stop}
    return OutboundMessage(
        channel=OutboundMessage.Channel.EMAIL,
        to_address=response.contact.email,
        subject=(_("A quick question from %(company)s") % {"company": tenant.name})[:255],
        body=body,
        key=f"nps:{response.pk}",
        headers={"List-Unsubscribe": f"<{stop}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        consent_contact=response.contact_id,
    )


def nps_send_pending(*, tenant_id: int, limit: int | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """One throttled run for a tenant: claim up to `limit` waiting invitations (skipping rows another worker holds),
    queue their messages in bulk and mark them sent, in one transaction. Contacts who unsubscribed or withdrew
    consent since the round started are dropped, not sent. Returns what was sent and dropped, and what still
    waits."""
    limit = limit or settings.NPS_SEND_PER_RUN
    now = now or timezone.now()
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"sent": 0, "dropped": 0, "waiting": 0}
    with transaction.atomic():
        claimed = list(
            NpsResponse.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(tenant_id=tenant_id, status=NpsResponse.Status.PENDING)
            .select_related("contact")
            .order_by("pk")[:limit]
        )
        ok = [
            r
            for r in claimed
            if r.contact.marketing_consent
            and r.contact.unsubscribed_at is None
            and r.contact.erased_at is None
            and r.contact.email
        ]
        dropped = [r.pk for r in claimed if r not in ok]
        if dropped:
            NpsResponse.objects.filter(tenant_id=tenant_id, pk__in=dropped).delete()
        if ok:
            with translation.override(tenant.language):
                messages = [_message(r, tenant) for r in ok]
            messages_queue_bulk(tenant_id=tenant_id, messages=messages)
            NpsResponse.objects.filter(tenant_id=tenant_id, pk__in=[r.pk for r in ok]).update(
                status=NpsResponse.Status.SENT, sent_at=now, updated_at=now
            )
    waiting = NpsResponse.objects.filter(tenant_id=tenant_id, status=NpsResponse.Status.PENDING).count()
    return {"sent": len(ok), "dropped": len(dropped), "waiting": waiting}


def nps_answer(
    *, tenant_id: int, response_id: int, score: int, comment: str = "", now: dt.datetime | None = None
) -> NpsResponse:
    """A contact's score (0–10) and comment through the signed link; answering again changes it."""
    now = now or timezone.now()
    if score not in range(0, 11):
        raise DomainError(_("Choose a score from 0 to 10."), field="score")
    comment = _clean_comment(comment)
    with transaction.atomic():
        response = (
            NpsResponse.objects.select_for_update(of=("self",))
            .select_related("round", "tenant")
            .get(tenant_id=tenant_id, pk=response_id)
        )
        _check_open(response.round.expires_at, now)
        before = response.score
        response.score, response.comment, response.answered_at, response.updated_at = score, comment, now, now
        response.save(update_fields=["score", "comment", "answered_at", "updated_at"])
        audit(
            tenant=response.tenant,
            actor=None,
            action="nps.answer",
            obj=response.round,
            details={"response": response.pk, "score": score, "before": before},
        )
    return response


def tenants_with_pending_invitations() -> list[int]:
    return tenants_having(lambda: NpsResponse.objects.filter(status=NpsResponse.Status.PENDING))
