"""Satisfaction surveys (CSAT): sent when a ticket is resolved, answered through a signed link without a login.

The link carries a signed token naming the tenant and the survey (django.core.signing, its own salt), so a
changed or invented token names nothing and another tenant's survey cannot be reached by guessing ids; the
survey row holds when the link expires (the desk's `survey_days` at sending time). One survey per ticket (a
unique constraint): resolving a reopened ticket again sends nothing more, and answering again changes the answer.

The message is a row of the one outbox (crm.services.notification.message_queue), written in the ticket's
transaction and delivered after commit, in the tenant's language. A service message about the contact's own
ticket needs no marketing consent, but a contact who unsubscribed, or whose data was erased, gets no survey.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import manager_of
from crm.errors import DomainError
from crm.models import OutboundMessage
from crm.services.audit import audit
from crm.services.notification import lazy_format, message_queue, notify
from service.models import NpsResponse, SatisfactionSurvey, ServiceSettings, Ticket

TOKEN_SALT = "service.survey"
CSAT = "c"
NPS = "n"
COMMENT_MAX = 2000


def survey_token(kind: str, tenant_id: int, pk: int) -> str:
    return signing.dumps([kind, tenant_id, pk], salt=TOKEN_SALT, compress=True)


def read_survey_token(token: str) -> tuple[str, int, int] | None:
    """(kind, tenant id, row id) of a token this site signed; None for anything else."""
    try:
        kind, tenant_id, pk = signing.loads(token, salt=TOKEN_SALT)
        return str(kind), int(tenant_id), int(pk)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def survey_link(kind: str, tenant_id: int, pk: int) -> str:
    return settings.SITE_URL + reverse("service:survey_answer", args=[survey_token(kind, tenant_id, pk)])


def reachable(contact) -> bool:
    """Whether a contact may get a survey at all: not unsubscribed, not erased, with an email or a mobile."""
    return (
        contact is not None
        and contact.unsubscribed_at is None
        and contact.erased_at is None
        and bool(contact.email or contact.mobile)
    )


def survey_message(*, survey: SatisfactionSurvey, ticket: Ticket, contact, tenant) -> OutboundMessage:
    """The invitation to answer (not saved), by email when the contact has one, else by SMS, in the tenant's
    language."""
    link = survey_link(CSAT, survey.tenant_id, survey.pk)
    with translation.override(tenant.language):
        if contact.email:
            body = _(
                "Dear %(name)s,\n\nYour request %(number)s (%(subject)s) has been resolved. How satisfied are you "
                "with our help? One click tells us:\n\n%(url)s\n\nThe link is valid until %(date)s.\n\n%(company)s"
            ) % {
                "name": contact.name,
                "number": ticket.display_number,
                "subject": ticket.subject,
                "url": link,
                "date": timezone.localtime(survey.expires_at, tenant.tzinfo).date().isoformat(),
                "company": tenant.name,
            }
            subject = _("How did we do? %(number)s") % {"number": ticket.display_number}
            return OutboundMessage(
                channel=OutboundMessage.Channel.EMAIL, to_address=contact.email, subject=subject[:255], body=body
            )
        body = _("%(company)s: your request %(number)s is resolved. How did we do? %(url)s") % {
            "company": tenant.name,
            "number": ticket.display_number,
            "url": link,
        }
        return OutboundMessage(channel=OutboundMessage.Channel.SMS, to_address=contact.mobile, body=body)


def survey_on_resolved(*, ticket: Ticket, now: dt.datetime) -> SatisfactionSurvey | None:
    """Called in the transaction that resolves `ticket` (under its row lock): write its survey and queue the
    invitation, once per ticket. Nothing when the desk switched surveys off or the contact cannot be reached."""
    desk = ServiceSettings.objects.filter(tenant_id=ticket.tenant_id).first()
    if desk is not None and not desk.survey_on:
        return None
    days = desk.survey_days if desk is not None else ServiceSettings._meta.get_field("survey_days").default
    contact = ticket.contact
    if not reachable(contact):
        return None
    survey, created = SatisfactionSurvey.objects.get_or_create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        defaults={
            "contact": contact,
            "agent_id": ticket.assignee_id,
            "team_id": ticket.team_id,
            "category_id": ticket.category_id,
            "sent_at": now,
            "expires_at": now + dt.timedelta(days=days),
        },
    )
    if not created:
        return survey
    message = survey_message(survey=survey, ticket=ticket, contact=contact, tenant=ticket.tenant)
    message_queue(
        tenant_id=ticket.tenant_id,
        channel=message.channel,
        to_address=message.to_address,
        subject=message.subject,
        body=message.body,
        key=f"csat:{survey.pk}",
    )
    return survey


def _check_open(expires_at: dt.datetime, now: dt.datetime) -> None:
    if now > expires_at:
        raise DomainError(_("This survey link has expired. Thank you all the same."))


def _clean_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise DomainError(_("Please keep the comment under 2,000 characters."), field="comment")
    return comment


def survey_answer(
    *, tenant_id: int, survey_id: int, rating: int, comment: str = "", now: dt.datetime | None = None
) -> SatisfactionSurvey:
    """The contact's answer through the signed link (no login): a rating of 1 to 5 and a comment. Answering again
    within the link's validity changes the answer. A low rating (1–2) tells the manager of the ticket's agent
    (once per survey) and shows on the ticket; it reopens nothing."""
    now = now or timezone.now()
    if rating not in range(1, 6):
        raise DomainError(_("Choose a rating from 1 to 5."), field="rating")
    comment = _clean_comment(comment)
    with transaction.atomic():
        survey = (
            SatisfactionSurvey.objects.select_for_update(of=("self",))
            .select_related("tenant", "ticket", "agent", "agent__team")
            .get(tenant_id=tenant_id, pk=survey_id)
        )
        _check_open(survey.expires_at, now)
        before = survey.rating
        survey.rating, survey.comment, survey.answered_at = rating, comment, now
        survey.updated_at = now
        survey.save(update_fields=["rating", "comment", "answered_at", "updated_at"])
        audit(
            tenant=survey.tenant,
            actor=None,
            action="survey.answer",
            obj=survey.ticket,
            details={"survey": survey.pk, "rating": rating, "before": before},
        )
        if survey.is_low:
            _notify_low(survey)
    return survey


def _notify_low(survey: SatisfactionSurvey) -> None:
    agent = survey.agent
    manager = manager_of(agent) if agent is not None and agent.is_active else None
    if manager is None:
        return
    ticket = survey.ticket
    notify(
        recipient=manager,
        title=lazy_format(
            gettext_lazy("Low satisfaction rating (%(rating)s/5) on %(number)s"),
            rating=survey.rating,
            number=ticket.display_number,
        ),
        body=lazy_format(
            gettext_lazy("%(agent)s handled it. The customer wrote: %(comment)s"),
            agent=agent.full_name or agent.email,
            comment=survey.comment or "—",
        ),
        url=reverse("service:ticket_detail", args=[ticket.pk]),
        key=f"csat-low:{survey.pk}",
    )


def survey_personal_data_export(*, acting_user, contact, customer) -> dict[str, list[dict]]:
    """The person's survey answers (CSAT and NPS), for their personal-data download."""
    tenant_id = acting_user.tenant_id
    surveys = SatisfactionSurvey.objects.filter(tenant_id=tenant_id, contact=contact, answered_at__isnull=False)
    responses = NpsResponse.objects.filter(tenant_id=tenant_id, contact=contact, answered_at__isnull=False)
    return {
        "satisfaction_surveys": [
            {"ticket": s.ticket_id, "rating": s.rating, "comment": s.comment, "at": s.answered_at.isoformat()}
            for s in surveys.order_by("pk")
        ],
        "nps_answers": [
            {"survey": r.round_id, "score": r.score, "comment": r.comment, "at": r.answered_at.isoformat()}
            for r in responses.order_by("pk")
        ],
    }


def survey_personal_data_erase(*, acting_user, contact, customer, scrub) -> list[tuple[str, object]]:
    """The person's survey comments emptied (the ratings and scores stay, anonymous, in the figures)."""
    tenant_id = acting_user.tenant_id
    surveys = SatisfactionSurvey.objects.filter(tenant_id=tenant_id, contact=contact).exclude(comment="")
    responses = NpsResponse.objects.filter(tenant_id=tenant_id, contact=contact).exclude(comment="")
    erased = [(SatisfactionSurvey._meta.label_lower, pk) for pk in surveys.values_list("pk", flat=True)]
    erased += [(NpsResponse._meta.label_lower, pk) for pk in responses.values_list("pk", flat=True)]
    surveys.update(comment="", updated_at=timezone.now())
    responses.update(comment="", updated_at=timezone.now())
    return erased
