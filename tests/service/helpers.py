"""Builders for the service-desk tests: customers through the customers app, policies, tickets at fixed instants."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from customers.models import Contact
from customers.services.customer import customer_create
from service.models import SlaPolicy
from service.services.ticket import ticket_create

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    """A Shanghai wall-clock instant: at(2026, 3, 6, 18, 30)."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


def make_customer(user, name="云帆科技有限公司", email="li.na@yunfan.example", mobile="13800138000"):
    customer = customer_create(
        acting_user=user, data={"name": name}, contact={"name": "李娜", "mobile": mobile, "email": email}
    )
    return customer, Contact.objects.get(customer=customer, is_primary=True)


def policy(tenant, priority="normal", first=60, resolution=240, level=None):
    return SlaPolicy.objects.create(
        tenant=tenant, priority=priority, level=level, first_response_minutes=first, resolution_minutes=resolution
    )


def make_ticket(world, customer, contact=None, *, subject="打印机无法连接", now=None, by=None, **kw):
    return ticket_create(
        tenant=world.tenant,
        acting_user=by if by is not None else world.agent,
        customer=customer,
        contact=contact,
        subject=subject,
        description=kw.pop("description", "客户反映打印机连不上网络。"),
        now=now,
        **kw,
    )
