"""Converting a lead into a customer (identifiers checked), its contact and, if asked, an opportunity: atomic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_sales_user
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.access import lock_customer_for_change
from customers.models import Contact, Customer
from customers.services.contact import contact_save
from customers.services.customer import customer_create
from sales.access import require_lead_access
from sales.models import (
    Lead,
    LeadStatus,
    Pipeline,
    Stage,
)
from sales.services.opportunity import opportunity_create


@dataclass(frozen=True)
class OpportunityDraft:
    """The opportunity a conversion may create in the same transaction."""

    name: str
    pipeline: Pipeline | None
    stage: Stage | None = None
    amount: Decimal | None = None
    currency: str = ""
    expected_close_date: date | None = None


def _contact_values(lead: Lead) -> dict[str, Any]:
    mobile, phone = "", ""
    if lead.phone:
        try:
            number_type = phonenumbers.number_type(phonenumbers.parse(lead.phone, None))
        except phonenumbers.NumberParseException:
            number_type = None
        mobile_types = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        if number_type in mobile_types:
            mobile = lead.phone
        else:
            phone = lead.phone
    return {
        "name": lead.name,
        "title": lead.title,
        "mobile": mobile,
        "phone": phone,
        "email": lead.email,
        "wechat": lead.wechat,
    }


def _matching_contact(customer: Customer, lead: Lead) -> Contact | None:
    query = Q()
    if lead.phone:
        query |= Q(mobile=lead.phone) | Q(phone=lead.phone)
    if lead.email:
        query |= Q(email=lead.email)
    if not query:
        return None
    return Contact.objects.filter(tenant_id=customer.tenant_id, customer=customer).filter(query).first()


def lead_convert(
    *,
    acting_user: User,
    lead: Lead,
    customer: Customer | None = None,
    customer_name: str = "",
    customer_kind: str = Customer.Kind.COMPANY,
    opportunity: OpportunityDraft | None = None,
) -> Lead:
    """Turn a qualified lead, in one transaction, into a new customer (its identifiers checked as on creation) or
    attach it to an existing one the user may change; with its contact and, optionally, an opportunity. The lead
    keeps links to what it became. Any refusal leaves nothing behind."""

    require_sales_user(acting_user)
    require_lead_access(acting_user, lead)
    tenant = acting_user.tenant
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
        if lead.is_converted:
            raise DomainError(_("This lead is already converted."))
        if lead.status != LeadStatus.QUALIFIED:
            raise DomainError(_("Only a qualified lead is converted; qualify it first."), field="status")
        owner = lead.owner if lead.owner is not None and lead.owner.is_active else acting_user
        if customer is not None:
            if not Customer.objects.editable_by(acting_user).filter(pk=customer.pk).exists():
                raise DomainError(_("Choose a customer you may change."), field="customer")
            customer = lock_customer_for_change(acting_user, customer.pk)
            contact = _matching_contact(customer, lead)
            if contact is None:
                contact = contact_save(acting_user=acting_user, customer=customer, data=_contact_values(lead))
            attached = True
        else:
            name = (customer_name or lead.company or lead.name).strip()
            if not name:
                raise DomainError(_("Enter the customer's name."), field="customer_name")
            if customer_kind not in Customer.Kind.values:
                raise DomainError(_("Choose company or person."), field="customer_kind")
            customer = customer_create(
                acting_user=acting_user,
                data={
                    "kind": customer_kind,
                    "name": name[:200],
                    "source": lead.source,
                    "industry": lead.industry,
                    "region": lead.region,
                    "status": Customer.Status.INTERESTED,
                    "notes": lead.message,
                },
                contact=_contact_values(lead),
                owner=owner,
            )
            contact = Contact.objects.filter(customer=customer).order_by("-is_primary", "pk").first()
            attached = False
        created_opportunity = None
        if opportunity is not None:
            try:
                created_opportunity = opportunity_create(
                    acting_user=acting_user,
                    customer=customer,
                    contact=contact,
                    owner=owner,
                    name=opportunity.name,
                    pipeline=opportunity.pipeline,
                    stage=opportunity.stage,
                    amount=opportunity.amount,
                    currency=opportunity.currency,
                    expected_close_date=opportunity.expected_close_date,
                    lead=lead,
                )
            except DomainError as exc:
                raise DomainError(exc.message, field=f"opportunity_{exc.field}" if exc.field else None) from exc
        lead.status = LeadStatus.CONVERTED
        lead.customer, lead.contact, lead.opportunity = customer, contact, created_opportunity
        lead.converted_at, lead.converted_by = timezone.now(), acting_user
        lead.save()
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead.convert",
            obj=lead,
            details={
                "customer": customer.pk,
                "attached": attached,
                "contact": contact.pk if contact else None,
                "opportunity": created_opportunity.pk if created_opportunity else None,
            },
        )
        webhook_emit(
            tenant_id=tenant.pk,
            event="lead.converted",
            data={
                "id": lead.pk,
                "name": lead.name,
                "customer": customer.pk,
                "new_customer": not attached,
                "contact": contact.pk if contact else None,
                "opportunity": created_opportunity.pk if created_opportunity else None,
                "converted_by": acting_user.pk,
            },
        )
    return lead
