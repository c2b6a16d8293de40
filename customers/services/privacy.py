"""Personal data of contacts (个人信息保护法): reveals of masked phones and emails, a contact's data exported on
request, and its erasure.

Outside the customers a user owns, phones and emails are masked (customers.normalize.mask). Revealing one is a
write: logged (who, whose, which field, when) and capped per user per tenant-local day by the tenant's
`daily_reveal_limit`, like the pool's daily views. An admin can export a contact's personal data (JSON or CSV) and
erase it: the contact stays, with every business record that points at it, but its personal fields are blanked,
for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.registry import registry
from crm.services.audit import audit
from crm.services.erasure import (
    PersonalValues,
    audit_events_scrub,
    file_mentions,
    files_delete_on_commit,
    import_files_erase,
    notifications_scrub,
    outbound_attachments_erase,
    outbound_messages_scrub,
)
from crm.workcalendar.selectors import local_today
from customers.access import lock_customer_for_change, sees_personal_data
from customers.models import Contact, Customer, ExportJob, PersonalDataReveal
from customers.normalize import format_phone
from customers.services.identifier import sync_identifiers

REVEAL_FIELDS = tuple(PersonalDataReveal.Field.values)
ERASED_NAME = "—"


class RevealRefused(DomainError):
    """The day's cap of reveals is used up, or there is nothing left to reveal."""


def display_value(contact: Contact, field: str) -> str:
    value = getattr(contact, field) or ""
    return format_phone(value) if field in ("mobile", "phone") else value


def reveals_left_today(user: User) -> int | None:
    limit = user.tenant.daily_reveal_limit
    if limit is None:
        return None
    used = (
        PersonalDataReveal.objects.filter(tenant_id=user.tenant_id, user=user, day=local_today(user.tenant))
        .values("contact_id", "lead_id", "field")
        .distinct()
        .count()
    )
    return max(limit - used, 0)


def personal_data_reveal(*, user: User, contact: Contact, fields: Iterable[str]) -> dict[str, str]:
    """The unmasked values of `fields` of `contact` (whose customer the caller got through get_customer_for_user).
    On a customer the user does not own, each reveal is logged, and each field of a contact first revealed today
    counts once against the day's cap; over it, RevealRefused with nothing revealed or logged."""
    fields = [f for f in fields if f in REVEAL_FIELDS]
    customer = contact.customer
    if sees_personal_data(user, customer):
        return {f: display_value(contact, f) for f in fields}
    fields = [f for f in fields if getattr(contact, f)]
    if not fields:
        return {}
    reveals_log(user=user, fields=fields, customer=customer, contact=contact)
    return {f: display_value(contact, f) for f in fields}


def reveals_log(
    *,
    user: User,
    fields: list[str],
    customer: Customer | None = None,
    contact: Contact | None = None,
    lead_id: int | None = None,
) -> None:
    """Log the reveal of `fields` of a contact (with its customer) or of a lead, within the day's cap: each field of a
    record first revealed today counts once; over the cap, RevealRefused with nothing logged. The one log and the
    one cap of every masked record (contacts here, leads from sales)."""
    tenant = user.tenant
    day = local_today(tenant)
    limit = tenant.daily_reveal_limit
    with transaction.atomic():
        # One user's reveals one at a time, so two tabs cannot both take the last one.
        User.objects.select_for_update().get(pk=user.pk)
        today = PersonalDataReveal.objects.filter(tenant_id=tenant.pk, user=user, day=day)
        mine = today.filter(contact=contact) if contact is not None else today.filter(lead_id=lead_id)
        already = set(mine.values_list("field", flat=True))
        new = [f for f in fields if f not in already]
        if limit is not None and new:
            used = today.values("contact_id", "lead_id", "field").distinct().count()
            if used + len(new) > limit:
                raise RevealRefused(
                    _(
                        "You have revealed %(limit)d masked phones, emails and WeChat ids of customers and leads "
                        "today, the most your company allows. Try again tomorrow, or ask their owner."
                    )
                    % {"limit": limit}
                )
        PersonalDataReveal.objects.bulk_create(
            [
                PersonalDataReveal(
                    tenant_id=tenant.pk,
                    created_by=user,
                    user=user,
                    customer=customer,
                    contact=contact,
                    lead_id=lead_id,
                    field=f,
                    day=day,
                )
                for f in fields
            ]
        )


PERSONAL_FIELDS = ("name", "title", "mobile", "phone", "email", "wechat", "birthday", "notes")


def contact_personal_data(*, acting_user: User, contact: Contact) -> dict[str, Any]:
    """Everything the CRM keeps about the person, for their access request: the contact's fields, whose contact it
    is, who revealed its masked data when, and what other apps keep about them (crm.registry.PersonalDataHolder:
    the leads they came in as, the follow-ups with them). Admins only; audited as an export."""
    require_admin(acting_user)
    reveals = (
        PersonalDataReveal.objects.filter(tenant_id=acting_user.tenant_id, contact=contact)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    customer = contact.customer
    data: dict[str, Any] = {
        "contact_id": contact.pk,
        "customer": contact.customer.name,
        **{f: getattr(contact, f) for f in PERSONAL_FIELDS},
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
        "erased_at": contact.erased_at.isoformat() if contact.erased_at else None,
        "reveals": [
            {"user": r.user.full_name or r.user.email, "field": r.field, "at": r.created_at.isoformat()}
            for r in reveals
        ],
    }
    for holder in registry.personal_data_holders():
        if holder.export is not None:
            data.update(holder.export(acting_user=acting_user, contact=contact, customer=customer))
    audit(
        tenant=acting_user.tenant,
        actor=acting_user,
        action="contact.personal_data_export",
        obj=contact,
        details={"customer": contact.customer_id, "rows": 1},
    )
    return data


def contact_erase(*, acting_user: User, contact: Contact) -> Contact:
    """Erase the person's data on their request, everywhere it was written down, in one transaction:

    - the contact: name, title, phones, email, WeChat id, birthdays and notes blanked; the customer's identifiers
      follow, so the number or address no longer blocks anyone;
    - a person-type customer (the customer is the person): its name, address, website and notes;
    - what other apps keep about the person (crm.registry.PersonalDataHolder: the leads converted into the contact,
      follow-up text…);
    - outgoing messages to the person (address, subject, body and attached files; unsent ones are never sent) and
      the person's values in other messages and notifications;
    - stored files that hold a phone, email or WeChat id of the person, deleted once the erasure commits: import
      uploads and their rejected-row files (an unfinished import fails), customer exports, files on other outgoing
      messages, and the files on the person's tickets (by the service desk's holder); the audit row lists how many
      of each were removed;
    - the audit trail: the rows about the erased records lose their description and the person's values in their
      details, and every row mentioning a phone, email or WeChat id of theirs has it replaced.

    The contact and everything pointing at it stay. Admins only; irreversible; audited without the erased values."""
    require_admin(acting_user)
    with transaction.atomic():
        customer = lock_customer_for_change(acting_user, contact.customer_id)
        locked = Contact.objects.select_for_update().filter(pk=contact.pk, customer=customer).first()
        if locked is None:
            raise DomainError(_("This contact no longer belongs to this customer."))
        if locked.erased_at is not None:
            raise DomainError(_("This contact's personal data was already erased."))
        person = customer.kind == Customer.Kind.PERSON
        scrub = PersonalValues(
            names=[locked.name, customer.name] if person else [locked.name],
            phones=[locked.mobile, locked.phone],
            emails=[locked.email],
            wechats=[locked.wechat],
        )
        erased_objects: list[tuple[str, object]] = [(Contact._meta.label_lower, locked.pk)]
        locked.name = ERASED_NAME
        locked.title = locked.mobile = locked.phone = locked.email = locked.wechat = locked.notes = ""
        locked.birthday = None
        locked.lunar_birthday_month = locked.lunar_birthday_day = None
        locked.lunar_birthday_leap = locked.prefers_lunar_birthday = False
        locked.erased_at = timezone.now()
        locked.save()
        if person:
            customer.name = ERASED_NAME
            customer.name_pinyin = customer.name_initials = ""
            customer.address = customer.website = customer.notes = ""
            customer.save(update_fields=["name", "name_pinyin", "name_initials", "address", "website", "notes"])
            erased_objects.append((Customer._meta.label_lower, customer.pk))
        sync_identifiers(customer, acting_user)
        for holder in registry.personal_data_holders():
            erased_objects += holder.erase(acting_user=acting_user, contact=locked, customer=customer, scrub=scrub)
        files = [
            *import_files_erase(tenant=acting_user.tenant, scrub=scrub),
            *export_files_erase(tenant=acting_user.tenant, scrub=scrub),
            # Before the messages lose the person's address, which finds the files sent to them.
            *outbound_attachments_erase(tenant=acting_user.tenant, scrub=scrub),
        ]
        removed: dict[str, int] = {}
        for label, _pk in [*files, *erased_objects]:
            if label in REMOVED_FILES:
                removed[REMOVED_FILES[label]] = removed.get(REMOVED_FILES[label], 0) + 1
        outbound_messages_scrub(tenant=acting_user.tenant, scrub=scrub)
        notifications_scrub(tenant=acting_user.tenant, scrub=scrub)
        audit_events_scrub(tenant=acting_user.tenant, objects=erased_objects, scrub=scrub)
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="contact.erase",
            obj=locked,
            details={"customer": customer.pk, "contact": locked.pk, "files_removed": removed},
        )
    return locked


# The stored files an erasure removes, by the label their eraser returns them under: the key the erasure's audit
# row counts them by.
REMOVED_FILES = {
    "imports.importjob.file": "import_uploads",
    "imports.importjob.rejected_file": "import_rejected_rows",
    "customers.exportjob.file": "exports",
    "crm.outboundattachment": "message_attachments",
    "service.ticketattachment": "ticket_attachments",
}


def export_files_erase(*, tenant, scrub: PersonalValues) -> list[tuple[str, Any]]:
    """Customer exports whose file holds a distinctive value of the person lose the file (the export stays listed,
    without a download); returns ("customers.exportjob.file", pk) for each."""
    doomed = [
        job for job in ExportJob.objects.filter(tenant=tenant).select_for_update() if file_mentions(job.file, scrub)
    ]
    files_delete_on_commit((job.file.storage, job.file.name) for job in doomed)
    ExportJob.objects.filter(pk__in=[job.pk for job in doomed]).update(file="", updated_at=timezone.now())
    return [("customers.exportjob.file", job.pk) for job in doomed]
