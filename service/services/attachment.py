"""Files on tickets: the checks every upload passes (an agent's, the public form's, an inbound email's) and their
storage through Django's storage API.

A file is refused with a translated message when it is empty or over SERVICE_ATTACHMENT_MAX_BYTES, when a message
carries more than SERVICE_ATTACHMENT_MAX_FILES, when its name could mislead or escape (paths, control or
bidirectional-override characters, a hidden-file dot, too long), when its type is not in SERVICE_ATTACHMENT_TYPES,
or when its content does not match its type (a program named .pdf, a binary named .txt). The stored name is
random; the uploader's name is kept in the row only and the file is served as a download (never inline).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.files import file_save
from crm.models import User
from service.models import Ticket, TicketAttachment, TicketMessage

MAX_NAME = 150
HEAD = 2048

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "zip": "application/zip",
}
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
    "docx": ZIP,
    "xlsx": ZIP,
    "pptx": ZIP,
    "zip": ZIP,
}
TEXT = {"txt", "log", "csv"}
# Programs and scripts, whatever the name says.
EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")


@dataclass(frozen=True)
class CheckedFile:
    file: File
    name: str
    content_type: str
    size: int


def _shown(name: str) -> str:
    """The name as an error message may show it: printable characters only, shortened."""
    printable = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return (printable[:60] + "…") if len(printable) > 60 else printable or "?"


def _name_ok(name: str) -> bool:
    if not name or len(name) > MAX_NAME or name.startswith(".") or name.strip() != name:
        return False
    if any(c in name for c in "/\\:") or ".." in name:
        return False
    # Control characters and format characters (e.g. U+202E, which shows "gpj.exe" as "exe.jpg").
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)


def _head(file: File) -> bytes:
    file.seek(0)
    head = file.read(HEAD)
    file.seek(0)
    return head if isinstance(head, bytes) else head.encode()


def _content_ok(extension: str, head: bytes) -> bool:
    if head.startswith(EXECUTABLE):
        return False
    if extension in SIGNATURES:
        if not head.startswith(SIGNATURES[extension]):
            return False
        return extension != "webp" or head[8:12] == b"WEBP"
    if extension in TEXT:
        return b"\x00" not in head
    return True


def attachment_refusal(file: File) -> str:
    """Why the file is refused (a translated sentence naming it), or "" when it may be stored."""
    name = unicodedata.normalize("NFC", str(getattr(file, "name", "") or ""))
    shown = _shown(name)
    if not _name_ok(name):
        return _("“%(name)s”: this file name is not accepted (no folders, control characters or leading dot).") % {
            "name": shown
        }
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    allowed = [t.lower() for t in settings.SERVICE_ATTACHMENT_TYPES]
    if extension not in allowed:
        return _("“%(name)s”: files of this type are not accepted (allowed: %(types)s).") % {
            "name": shown,
            "types": ", ".join(allowed),
        }
    size = file.size or 0
    if size <= 0:
        return _("“%(name)s” is empty.") % {"name": shown}
    if size > settings.SERVICE_ATTACHMENT_MAX_BYTES:
        return _("“%(name)s” is larger than %(max)d MB.") % {
            "name": shown,
            "max": settings.SERVICE_ATTACHMENT_MAX_BYTES // (1024 * 1024),
        }
    if not _content_ok(extension, _head(file)):
        return _("“%(name)s”: the content is not a %(type)s file.") % {"name": shown, "type": extension.upper()}
    return ""


def _checked(file: File) -> CheckedFile:
    name = unicodedata.normalize("NFC", str(file.name))
    extension = name.rpartition(".")[2].lower()
    return CheckedFile(
        file=file, name=name, content_type=CONTENT_TYPES.get(extension, "application/octet-stream"), size=file.size
    )


def attachments_check(files: Iterable[File]) -> list[CheckedFile]:
    """Every file passes or none is taken: the first refusal is a DomainError on the `attachments` field."""
    files = list(files)
    if len(files) > settings.SERVICE_ATTACHMENT_MAX_FILES:
        raise DomainError(
            _("At most %(max)d files a message.") % {"max": settings.SERVICE_ATTACHMENT_MAX_FILES},
            field="attachments",
        )
    for file in files:
        refusal = attachment_refusal(file)
        if refusal:
            raise DomainError(refusal, field="attachments")
    return [_checked(f) for f in files]


def attachments_accepted(files: Iterable[File]) -> tuple[list[File], list[str]]:
    """For mail, which cannot be answered with a form error: the files that pass (up to the count limit) and the
    refusals of the others."""
    accepted: list[File] = []
    refused: list[str] = []
    for file in files:
        refusal = attachment_refusal(file)
        if not refusal and len(accepted) >= settings.SERVICE_ATTACHMENT_MAX_FILES:
            refusal = _("At most %(max)d files a message.") % {"max": settings.SERVICE_ATTACHMENT_MAX_FILES}
        if refusal:
            refused.append(refusal)
        else:
            accepted.append(file)
    return accepted, refused


def attachments_store(
    *, ticket: Ticket, message: TicketMessage | None, files: list[CheckedFile], acting_user: User | None
) -> list[TicketAttachment]:
    """Store checked files on the ticket (and message) in the caller's transaction. A rolled-back transaction
    deletes the files it stored (crm.files.file_save), and never leaves a row without its file."""
    stored = []
    for checked in files:
        attachment = TicketAttachment(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            message=message,
            name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            created_by=acting_user,
        )
        checked.file.seek(0)
        file_save(attachment.file, checked.name, checked.file)
        attachment.save()
        stored.append(attachment)
    return stored
