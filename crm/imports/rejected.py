"""The rejected-rows file: the rows an import refuses, to fix and upload again."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import Iterable

from django.core.files import File

from crm.files import file_save
from crm.imports.kind import Row
from crm.imports.models import ImportJob
from crm.spreadsheet import neutralise

REASON_HEADER = "错误原因/reason"


class RejectedRows:
    """Writes rejected rows as they come to a temporary file: UTF-8 with a BOM (so Excel reads the Chinese right),
    the file's own columns as they were written, then the reason. Every cell goes through
    `crm.spreadsheet.neutralise`; the reader undoes the apostrophe when the fixed file comes back. Memory stays flat
    however many rows are rejected."""

    def __init__(self, headers: list[str]):
        self.width = len(headers)
        self.count = 0
        self._closed = False
        self._file = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._text.write("\ufeff")
        self._writer = csv.writer(self._text)
        self._writer.writerow([neutralise(h) for h in [*headers, REASON_HEADER]])

    def write(self, rows: Iterable[Row]) -> None:
        for row in rows:
            cells = (row.cells + [""] * self.width)[: max(self.width, len(row.cells))]
            self._writer.writerow([neutralise(c) for c in [*cells, row.reason]])
            self.count += 1

    def save(self, job: ImportJob) -> str:
        """Store the file (when a row was rejected) under a random name; returns its name, or ""."""
        try:
            if not self.count:
                return ""
            self._file.seek(0)
            file_save(job.rejected_file, f"{uuid.uuid4().hex}.csv", File(self._file))
            return job.rejected_file.name
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._text.detach()
            self._file.close()


def remove_file(name: str) -> None:
    if name:
        ImportJob._meta.get_field("rejected_file").storage.delete(name)
