"""Files stored through Django's storage by a write that may still roll back.

Every save path of an uploaded or generated file (ticket, contract and outgoing-message attachments, import
uploads and their rejected rows, exports, the company's logo) stores it with `file_save`: the file is written at
once (the row that refers to it is saved next, in the same transaction), and the database backend
(crm/database/base.py) deletes it again if that transaction, or the savepoint it was stored in, rolls back — so a
refused or failed write leaves no file behind. Outside a transaction the file is simply stored.
"""

from __future__ import annotations

from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.fields.files import FieldFile


def file_save(field_file: FieldFile, name: str, content: File, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Store `content` in `field_file` (its storage chooses the final name; the row is not saved) and have the file
    deleted if the current transaction rolls back. Returns the stored name."""
    field_file.save(name, content, save=False)
    connection = transaction.get_connection(using)
    track = getattr(connection, "stored_file_track", None)
    if track is not None:
        track(field_file.storage, field_file.name)
    return field_file.name
