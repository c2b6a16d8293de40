"""What sales keeps about a person, exported and erased on their request (个人信息保护法): the leads they came in
as, the follow-ups that tell what was said with them, and the text of tasks, appointments, opportunities and orders.
Registered as a crm.registry.PersonalDataHolder; customers.services.privacy.contact_personal_data and contact_erase
(inside its transaction) call it."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from crm.models import User
from crm.services.erasure import ERASED, PersonalValues, rows_scrub
from customers.models import Contact, Customer
from sales.models import Appointment, FollowUp, Lead, Opportunity, Order, Task


def _person_leads(contact: Contact, customer: Customer, scrub: PersonalValues, person: bool) -> Q:
    condition = Q(contact=contact)
    if person:
        condition |= Q(customer=customer)
    phones = [v for v in scrub.addresses if v.startswith("+")]
    emails = [v for v in scrub.addresses if "@" in v]
    if phones:
        condition |= Q(phone__in=phones)
    if emails:
        condition |= Q(email__in=emails)
    return condition


def sales_personal_data_export(*, acting_user: User, contact: Contact, customer: Customer) -> dict[str, list[dict]]:
    """What sales keeps about the person, for their access request: the leads they came in as (or with their phone
    or email) and the follow-ups with them, on those leads or on a person-type customer."""
    tenant_id = acting_user.tenant_id
    person = customer.kind == Customer.Kind.PERSON
    scrub = PersonalValues(
        names=[contact.name], phones=[contact.mobile, contact.phone], emails=[contact.email], wechats=[contact.wechat]
    )
    leads = list(
        Lead.objects.filter(tenant_id=tenant_id)
        .filter(_person_leads(contact, customer, scrub, person))
        .order_by("created_at", "pk")
    )
    about = Q(contact=contact) | Q(lead__in=[lead.pk for lead in leads])
    if person:
        about |= Q(customer=customer)
    follow_ups = FollowUp.objects.filter(tenant_id=tenant_id).filter(about).order_by("happened_at", "pk")
    return {
        "leads": [
            {
                "id": lead.pk,
                "name": lead.name,
                "company": lead.company,
                "title": lead.title,
                "phone": lead.phone,
                "email": lead.email,
                "wechat": lead.wechat,
                "message": lead.message,
                "created_at": lead.created_at.isoformat(),
            }
            for lead in leads
        ],
        "follow_ups": [
            {
                "id": f.pk,
                "at": f.happened_at.isoformat(),
                "kind": f.kind,
                "content": f.content,
                "next_step": f.next_step,
            }
            for f in follow_ups
        ],
    }


def sales_personal_data_erase(
    *, acting_user: User, contact: Contact, customer: Customer, scrub: PersonalValues
) -> list[tuple[str, Any]]:
    """Erase the person from sales' records; returns the (model label, pk) of the records about them, whose audit
    rows the erasure scrubs too.

    - leads converted into the contact (or into the person-type customer) and leads with the person's phone or
      email: name, job title, phone, email and WeChat id erased, their message scrubbed;
    - follow-ups with the contact, on those leads or on a person-type customer: the person's values (name too)
      replaced in what happened and the next step; any other follow-up mentioning their phone, email or WeChat id;
    - tasks, appointments, opportunities and orders: the same in their titles, names and notes."""
    tenant_id = acting_user.tenant_id
    person = customer.kind == Customer.Kind.PERSON
    leads = list(
        Lead.objects.filter(tenant_id=tenant_id)
        .filter(_person_leads(contact, customer, scrub, person))
        .select_for_update(of=("self",))
    )
    for lead in leads:
        lead.name = ERASED
        lead.title = lead.phone = lead.email = lead.wechat = ""
        lead.message = scrub.text(lead.message)
        if person:
            lead.company = lead.company_key = ""
    if leads:
        Lead.objects.bulk_update(
            leads, ["name", "title", "phone", "email", "wechat", "message", "company", "company_key"]
        )
    lead_ids = [lead.pk for lead in leads]
    of_customer = Q(customer=customer) if person else Q(pk__in=[])
    erased: list[tuple[str, Any]] = [(Lead._meta.label_lower, pk) for pk in lead_ids]
    follow_ups = rows_scrub(
        FollowUp.objects.filter(tenant_id=tenant_id),
        Q(contact=contact) | Q(lead_id__in=lead_ids) | of_customer,
        ("content", "next_step"),
        scrub,
    )
    erased += [(FollowUp._meta.label_lower, pk) for pk in follow_ups]
    for model, fields in (
        (Task, ("title", "notes")),
        (Appointment, ("title", "notes")),
        (Opportunity, ("name", "notes")),
        (Order, ("items_text", "notes")),
    ):
        about = of_customer | (Q(contact=contact) if model is Opportunity else Q(pk__in=[]))
        rows = rows_scrub(model.objects.filter(tenant_id=tenant_id), about, fields, scrub)
        erased += [(model._meta.label_lower, pk) for pk in rows]
    return erased
