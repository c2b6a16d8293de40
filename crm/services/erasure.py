"""Erasing a person's data on their request (个人信息保护法) from what the core keeps: the audit trail, outgoing
messages (and the files they carry) and in-app notifications, import uploads and their rejected-row files. The
person's values (name, phones, emails, WeChat ids) are replaced with "—" wherever they were written down; the rows
themselves stay, so the business history keeps its shape. Stored files cannot be edited in place: a file that
holds a distinctive value of the person (`file_mentions`) is deleted — after the erasure commits, so a failed
erasure deletes nothing (`files_delete_on_commit`).

The erasure itself (which person, which records) is customers.services.privacy.contact_erase; it calls these inside
its transaction."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from crm.imports.models import ImportJob
from crm.models import AuditEvent, Notification, OutboundAttachment, OutboundMessage, Tenant

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

    def found_in(self, text: str) -> bool:
        """Whether `text` holds one of the person's distinctive values (phones however typed, emails, WeChat ids)."""
        return bool(text) and self._distinctive is not None and self._distinctive.search(text) is not None

    def mentioned(self, *fields: str) -> Q:
        """Rows whose `fields` contain one of the distinctive values (never all rows: no values, no rows)."""
        condition = Q(pk__in=[])
        for value in self.search_values:
            for name in fields:
                condition |= Q(**{f"{name}__icontains": value})
        return condition


# Attached files whose content is looked through for the person (text, Office files); a PDF or an image cannot be
# read for it, and is removed only with the records about the person.
SCANNED_TYPES = Q(content_type__startswith="text/") | Q(content_type__startswith="application/vnd.openxmlformats")
# The most of a stored file read to look for the person (an XLSX's XML parts count unzipped).
FILE_READ_MAX = 200 * 1024 * 1024


def _file_text(data: bytes) -> str:
    """The text of a stored file: an Office file's (XLSX, DOCX: a zip) XML parts, else the bytes as UTF-8 or GB18030."""
    if data.startswith(b"PK\x03\x04"):
        parts, read = [], 0
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if info.filename.endswith(".xml") and read + info.file_size <= FILE_READ_MAX:
                        read += info.file_size
                        parts.append(archive.read(info).decode("utf-8", "ignore"))
        except zipfile.BadZipFile:
            pass
        return "\n".join(parts)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", "ignore")


def file_mentions(field_file, scrub: PersonalValues) -> bool:
    """Whether a stored file holds one of the person's distinctive values (a missing file holds nothing)."""
    if not field_file or scrub._distinctive is None:
        return False
    try:
        with field_file.open("rb") as stored:
            data = stored.read(FILE_READ_MAX)
    except FileNotFoundError:
        return False
    return scrub.found_in(_file_text(data))


def files_delete_on_commit(files: Iterable[tuple[Any, str]]) -> None:
    """Delete the stored files ((storage, name)) once the erasure's transaction commits."""
    files = [(storage, name) for storage, name in files if name]

    def delete() -> None:
        for storage, name in files:
            storage.delete(name)

    if files:
        transaction.on_commit(delete)


def import_files_erase(*, tenant: Tenant, scrub: PersonalValues) -> list[tuple[str, Any]]:
    """Imports whose uploaded file or rejected-row file holds a distinctive value of the person lose that file (an
    import not finished yet fails, saying why); the sample and preview rows kept with every import have the
    person's values replaced (the name too, in a row that holds a distinctive value). Returns the (label, pk) of
    the files removed: ("imports.importjob.file", pk) and ("imports.importjob.rejected_file", pk)."""
    removed: list[tuple[str, Any]] = []
    doomed: list[tuple[Any, str]] = []
    jobs = ImportJob.objects.filter(tenant=tenant).select_for_update()
    for job in jobs:
        fields = []
        for name in ("file", "rejected_file"):
            stored = getattr(job, name)
            if file_mentions(stored, scrub):
                doomed.append((stored.storage, stored.name))
                setattr(job, name, "")
                fields.append(name)
                removed.append((f"imports.importjob.{name}", job.pk))
        samples = [scrub.json(row, with_name=scrub.found_in(str(row))) for row in job.samples or []]
        preview = scrub.json(job.preview, with_name=False)
        if samples != job.samples or preview != job.preview:
            job.samples, job.preview = samples, preview
            fields += ["samples", "preview"]
        if "file" in fields and job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            job.status = ImportJob.Status.FAILED
            job.error = "The file held the personal data of a person erased on their request."
            fields += ["status", "error"]
        if fields:
            job.save(update_fields=[*fields, "updated_at"])
    files_delete_on_commit(doomed)
    return removed


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
    """Messages to the person lose their address, subject, body and attached files, and those not yet sent are
    never sent; other messages that mention a distinctive value of theirs have it replaced, and lose an attached
    file that holds one."""
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


def outbound_attachments_erase(*, tenant: Tenant, scrub: PersonalValues) -> list[tuple[str, Any]]:
    """Files on messages to the person (their address is erased by outbound_messages_scrub, so run this first), and
    files on any message that hold a distinctive value of theirs: rows and stored files removed. Returns their
    (label, pk)."""
    addressed = Q(pk__in=[])
    for address in scrub.addresses:
        addressed |= (
            Q(message__to_address__iendswith=address) if address.isdigit() else Q(message__to_address__iexact=address)
        )
    attachments = OutboundAttachment.objects.filter(tenant=tenant)
    gone = list(attachments.filter(addressed))
    gone += [a for a in attachments.exclude(addressed).filter(SCANNED_TYPES) if file_mentions(a.file, scrub)]
    files_delete_on_commit((a.file.storage, a.file.name) for a in gone)
    OutboundAttachment.objects.filter(pk__in=[a.pk for a in gone]).delete()
    return [(OutboundAttachment._meta.label_lower, a.pk) for a in gone]


def notifications_scrub(*, tenant: Tenant, scrub: PersonalValues) -> int:
    """In-app notifications that mention a distinctive value of the person have it replaced."""
    changed = []
    for note in Notification.objects.filter(tenant=tenant).filter(scrub.mentioned("title", "body")):
        note.title, note.body = scrub.text(note.title, with_name=False), scrub.text(note.body, with_name=False)
        changed.append(note)
    Notification.objects.bulk_update(changed, ["title", "body"])
    return len(changed)
