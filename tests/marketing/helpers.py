"""Builders of the customer-care tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from customers.models import Contact
from customers.services.customer import customer_create
from marketing.models import CareCampaign

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at_shanghai(year, month, day, hour=10, minute=0) -> dt.datetime:
    """An instant given as Asia/Shanghai wall-clock time (the tenants' default time zone)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_contact(user, name, *, consent=True, email=None, mobile="", **fields) -> Contact:
    """A customer of `user` with one contact named `name`, with marketing consent unless told otherwise."""
    customer = customer_create(acting_user=user, data={"name": f"{name}的公司"}, contact={"name": name})
    contact = customer.contacts.get()
    values = {
        "email": f"{abs(hash(name)) % 10**8}@example.cn" if email is None else email,
        "mobile": mobile,
        "marketing_consent": consent,
        "consent_at": timezone.now() if consent else None,
        "consent_source": "test" if consent else "",
        **fields,
    }
    Contact.objects.filter(pk=contact.pk).update(**values)
    contact.refresh_from_db()
    return contact


def birthday_campaign(tenant, **fields) -> CareCampaign:
    values = {
        "name": "生日祝福",
        "kind": CareCampaign.Kind.BIRTHDAY,
        "send_hour": 9,
        "email_subject": "{{ contact.name }}，生日快乐！",
        "email_body": "亲爱的{{ contact.name }}：{{ customer.name }}祝您生日快乐！优惠券 {{ coupon.code }}，"
        "{{ coupon.expires }}前有效。—— {{ owner.name }}",
        "sms_body": "{{ contact.name }}生日快乐！券码{{ coupon.code }}",
        "coupon_kind": "amount",
        "coupon_value": Decimal("50"),
        "coupon_min_order": Decimal("200"),
        "coupon_valid_days": 30,
        **fields,
    }
    return CareCampaign.objects.create(tenant=tenant, **values)
