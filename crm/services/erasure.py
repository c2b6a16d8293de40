"""Erasing a person's data on their request (个人信息保护法) from what the core keeps: the audit trail, outgoing
messages and in-app notifications. The person's values (name, phones, emails, WeChat ids) are replaced with "—"
wherever they were written down; the rows themselves stay, so the business history keeps its shape.

The erasure itself (which person, which records) is customers.services.privacy.contact_erase; it calls these inside
its transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from crm.models import AuditEvent, Notification, OutboundMessage, Tenant

ERASED = "—"


def _phone_pattern(e164: str) -> tuple[str, list[str]] | None:
    """A pattern matching the number however it was typed (+86 138 1234 5678, 138-1234-5678, 0571 8888 6666…), and
    the digit strings to look for in the database."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if len(national) < 5:
        return None
    country = str(number.country_code)
    separators = r"[\s\-().]*"
    prefix = rf"(?:(?:\+|00)?{separators}{country}{separators}|0)?"
    return prefix + separators.join(national), [national]


@dataclass
class PersonalValues:
    """One person's values and how they are scrubbed. Their `names` are replaced only in records known to be about
    the person (a name is rarely unique); phones, emails and WeChat ids are distinctive and are replaced wherever
    found."""

    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    emails: list[str] = field(default_factory=list)
    wechats: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        patterns, self.search_values = [], []
        for e164 in {p for p in self.phones if p}:
            found = _phone_pattern(e164)
            if found:
                patterns.append(found[0])
                self.search_values += found[1]
        for value in {v for v in self.emails + self.wechats if v and len(v) >= 3}:
            patterns.append(re.escape(value))
            self.search_values.append(value)
        self._distinctive = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        names = sorted({n.strip() for n in self.names if n and len(n.strip()) >= 2 and n.strip() != ERASED}, key=len)
        self._name = re.compile("|".join(re.escape(n) for n in reversed(names))) if names else None
        self.addresses = {v.lower() for v in self.phones + self.emails if v}
        for e164 in self.phones:
            found = _phone_pattern(e164) if e164 else None
            if found:
                self.addresses.update(found[1])

    def text(self, value: str, *, with_name: bool = True) -> str:
        """`value` with the person's values replaced by "—"."""
        if not value:
            return value
        if self._distinctive is not None:
            value = self._distinctive.sub(ERASED, value)
        if with_name and self._name is not None:
            value = self._name.sub(ERASED, value)
        return value

    def json(self, value: Any, *, with_name: bool = True) -> Any:
        """A JSON value (audit details) with every string in it scrubbed."""
        if isinstance(value, str):
            return self.text(value, with_name=with_name)
        if isinstance(value, list):
            return [self.json(v, with_name=with_name) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, with_name=with_name) for k, v in value.items()}
        return value

    def mentioned(self, *fields: str) -> Q:
        """Rows whose `fields` contain one of the distinctive values (never all rows: no values, no rows)."""
        condition = Q(pk__in=[])
        for value in self.search_values:
            for name in fields:
                condition |= Q(**{f"{name}__icontains": value})
        return condition


def rows_scrub(queryset, about: Q, fields: tuple[str, ...], scrub: PersonalValues) -> set[Any]:
    """Replace the person's values in `fields` of the rows about them (names too) or mentioning a distinctive one;
    the ids of the rows about them."""
    about_ids = set(queryset.filter(about).values_list("pk", flat=True))
    changed = []
    for row in queryset.filter(about | scrub.mentioned(*fields)).select_for_update(of=("self",)):
        with_name = row.pk in about_ids
        before = [getattr(row, f) for f in fields]
        for name in fields:
            # Required text (a follow-up's content, a task's title) keeps at least the erasure mark.
            setattr(row, name, scrub.text(getattr(row, name), with_name=with_name) or getattr(row, name))
        if [getattr(row, f) for f in fields] != before:
            changed.append(row)
    if changed:
        queryset.model.objects.bulk_update(changed, list(fields))
    return about_ids


def audit_events_scrub(*, tenant: Tenant, objects: Iterable[tuple[str, Any]], scrub: PersonalValues) -> int:
    """Scrub the person's values from the tenant's audit rows: the rows about `objects` ((model label, pk) of the
    records erased: their description and details, the name included) and every row whose description or details
    hold a distinctive value. The audit trail is otherwise append-only; the database lets only these two columns
    change, and only inside this transaction (app.audit_erasure)."""
    about = Q(pk__in=[])
    for label, pk in objects:
        about |= Q(object_type=label, object_id=str(pk))
    rows = (
        AuditEvent.objects.filter(tenant=tenant)
        .annotate(details_text=Cast("details", TextField()))
        .filter(about | scrub.mentioned("object_repr", "details_text"))
    )
    about_ids = set(AuditEvent.objects.filter(tenant=tenant).filter(about).values_list("pk", flat=True))
    changed = []
    for row in rows:
        with_name = row.pk in about_ids
        repr_, details = scrub.text(row.object_repr, with_name=with_name), scrub.json(row.details, with_name=with_name)
        if with_name and row.object_repr:
            repr_ = ERASED
        if (repr_, details) != (row.object_repr, row.details):
            row.object_repr, row.details = repr_, details
            changed.append(row)
    if changed:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.audit_erasure', 'on', true)")
        try:
            AuditEvent.objects.bulk_update(changed, ["object_repr", "details"])
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('app.audit_erasure', 'off', true)")
    return len(changed)


def outbound_messages_scrub(*, tenant: Tenant, scrub: PersonalValues) -> int:
    """Messages to the person lose their address, subject and body, and those not yet sent are never sent; other
    messages that mention a distinctive value of theirs have it replaced."""
    addressed = Q(pk__in=[])
    for address in scrub.addresses:
        addressed |= Q(to_address__iendswith=address) if address.isdigit() else Q(to_address__iexact=address)
    rows = OutboundMessage.objects.filter(tenant=tenant).filter(addressed | scrub.mentioned("subject", "body"))
    changed = []
    for message in rows.select_for_update():
        if scrub.text(message.to_address, with_name=False) != message.to_address:
            message.to_address, message.subject, message.body, message.headers = ERASED, ERASED, ERASED, {}
            if message.status in (OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING):
                message.status = OutboundMessage.Status.FAILED
                message.last_error = "erased on the person's request"
        else:
            message.subject = scrub.text(message.subject, with_name=False)
            message.body = scrub.text(message.body, with_name=False)
        changed.append(message)
    OutboundMessage.objects.bulk_update(changed, ["to_address", "subject", "body", "headers", "status", "last_error"])
    return len(changed)


def notifications_scrub(*, tenant: Tenant, scrub: PersonalValues) -> int:
    """In-app notifications that mention a distinctive value of the person have it replaced."""
    changed = []
    for note in Notification.objects.filter(tenant=tenant).filter(scrub.mentioned("title", "body")):
        note.title, note.body = scrub.text(note.title, with_name=False), scrub.text(note.body, with_name=False)
        changed.append(note)
    Notification.objects.bulk_update(changed, ["title", "body"])
    return len(changed)
