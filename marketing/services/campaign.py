"""Writes of care campaigns: save (create or change), and "send me a test"."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import OutboundMessage, User
from crm.phones import is_mobile
from crm.services.audit import audit
from crm.services.notification import message_queue
from marketing.access import require_care
from marketing.models import CareCampaign, Coupon
from marketing.services.greeting import build_message, coupon_code, placeholder_values

CAMPAIGN_FIELDS = [
    "name",
    "kind",
    "is_active",
    "date_kind",
    "month",
    "day",
    "holiday",
    "send_on",
    "send_hour",
    "send_minute",
    "audience",
    "channel",
    "email_subject",
    "email_body",
    "sms_body",
    "coupon_kind",
    "coupon_value",
    "coupon_min_order",
    "coupon_valid_days",
]


def campaign_save(*, acting_user: User, data: dict[str, Any], campaign: CareCampaign | None = None) -> CareCampaign:
    """Create or change a care campaign (admins and managers). One birthday campaign per company; names unique."""
    require_care(acting_user)
    values = {k: data[k] for k in CAMPAIGN_FIELDS if k in data}
    try:
        with transaction.atomic():
            if campaign is None:
                campaign = CareCampaign(tenant=acting_user.tenant, created_by=acting_user)
            when = (campaign.kind, campaign.send_on, campaign.send_hour, campaign.send_minute)
            for key, value in values.items():
                blank_text = value is None and key in ("date_kind", "holiday", "coupon_kind")
                setattr(campaign, key, "" if blank_text else value)
            if campaign.kind != CareCampaign.Kind.ONE_OFF:
                campaign.send_minute = 0
            if (campaign.kind, campaign.send_on, campaign.send_hour, campaign.send_minute) != when:
                # A one-off moved to another day or time goes out then.
                campaign.sent_at = None
            campaign.save()
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="care_campaign.save",
                obj=campaign,
                details={"kind": campaign.kind, "active": campaign.is_active},
            )
    except IntegrityError as exc:
        if "marketing_one_birthday_campaign" in str(exc):
            raise DomainError(
                _("There is a birthday campaign already: birthdays are greeted by one campaign."), field="kind"
            ) from exc
        if "marketing_campaign_unique_name" in str(exc):
            raise DomainError(_("Another campaign has this name."), field="name") from exc
        raise
    return campaign


def sample_coupon(campaign: CareCampaign) -> Coupon | None:
    """A coupon as the campaign would issue it today (not saved): for previews and tests."""
    if not campaign.coupon_kind:
        return None
    today = timezone.localdate(timezone=campaign.tenant.tzinfo)
    return Coupon(
        code=coupon_code(),
        kind=campaign.coupon_kind,
        value=campaign.coupon_value or 0,
        expires_on=today + dt.timedelta(days=campaign.coupon_valid_days),
    )


def campaign_preview(*, campaign: CareCampaign, contact) -> list[OutboundMessage]:
    """The messages `contact` would get from the campaign (email and SMS, as written), rendered in the sandbox
    with a sample coupon. Nothing is saved."""
    coupon = sample_coupon(campaign)
    values = placeholder_values(
        contact=contact, customer=contact.customer, coupon=coupon, owner=contact.customer.owner, tenant=campaign.tenant
    )
    messages = []
    with translation.override(campaign.tenant.language):
        if campaign.email_subject and campaign.email_body:
            messages.append(build_message(campaign=campaign, channel="email", values=values, contact=contact, key=""))
        if campaign.sms_body:
            messages.append(build_message(campaign=campaign, channel="sms", values=values, contact=contact, key=""))
    return messages


@dataclass
class SendTestResult:
    """What "send me a test" sent: the email and the SMS (each None when not sent), and why the SMS was not."""

    email: OutboundMessage | None = None
    sms: OutboundMessage | None = None
    sms_refused: str = ""


def campaign_send_test(*, acting_user: User, campaign: CareCampaign, contact) -> SendTestResult:
    """Send the campaign's email and SMS, as `contact` would get them, to the acting user's own address and mobile
    ("send me a test"). An SMS needs a mobile number in the user's profile: without one the email still goes and
    `sms_refused` says why the SMS did not. No greeting or coupon is recorded."""
    require_care(acting_user)
    has_email = bool(campaign.email_subject and campaign.email_body)
    has_sms = bool(campaign.sms_body)
    mobile = acting_user.phone if is_mobile(acting_user.phone) else ""
    refused = ""
    if has_sms and not mobile:
        refused = (
            _("Your profile has a phone number that cannot take an SMS: give a mobile number to get the SMS test.")
            if acting_user.phone
            else _("Your profile has no mobile number: add one to get the SMS test.")
        )
    if not has_email and not mobile:
        raise DomainError(refused or _("This campaign has nothing to test."))
    previews = {m.channel: m for m in campaign_preview(campaign=campaign, contact=contact)}
    sent = SendTestResult(sms_refused=refused)
    test_id = uuid.uuid4()
    with transaction.atomic():
        if has_email:
            email = previews[OutboundMessage.Channel.EMAIL]
            sent.email = message_queue(
                tenant_id=acting_user.tenant_id,
                recipient=acting_user,
                to_address=acting_user.email,
                subject=_("[Test] %(subject)s") % {"subject": email.subject},
                body=email.body,
                key=f"care-test:{campaign.pk}:{test_id}",
            )
        if has_sms and mobile:
            sent.sms = message_queue(
                tenant_id=acting_user.tenant_id,
                recipient=acting_user,
                channel=OutboundMessage.Channel.SMS,
                to_address=mobile,
                body=previews[OutboundMessage.Channel.SMS].body,
                key=f"care-test-sms:{campaign.pk}:{test_id}",
            )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="care_campaign.test",
            obj=campaign,
            details={"email": sent.email is not None, "sms": sent.sms is not None},
        )
    return sent
