"""Reading import files as offices export them: CSV in UTF-8 (with or without a BOM) or GB18030, and XLSX.

Reading is lazy and capped, so no file can hold a process for long: the header is the first non-blank row and may
have at most `IMPORT_MAX_COLUMNS` columns; data rows are read one at a time as the caller asks for them, and the
iteration stops with a clear error past `IMPORT_MAX_ROWS` rows (blank ones included) or at a row wider than the
column cap. Nothing counts the rows up front, and an XLSX's claimed dimension is never trusted: its rows are read
until they end. An XLSX whose parts unpack to more than `IMPORT_MAX_UNPACKED_BYTES` is refused before it is opened.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._reader import WorkSheetParser

from crm.errors import DomainError
from crm.spreadsheet import neutralise

ALLOWED_EXTENSIONS = (".csv", ".xlsx")


class ImportFileError(DomainError):
    """The file cannot be imported (wrong type, empty, unreadable, over a limit): said on the upload form, or as
    the reason a check failed."""

    def __init__(self, message: Any):
        super().__init__(message, field="file")


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_BYTES


def max_columns() -> int:
    return settings.IMPORT_MAX_COLUMNS


def max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


@dataclass
class Sheet:
    """A file's header row and its data rows as (line number, cells), read lazily; cells are stripped strings."""

    encoding: str
    headers: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[str]]]


@dataclass(frozen=True)
class Target:
    """A field a column can be mapped to, with the headers recognised for it (compared by `header_key`)."""

    key: str
    label: Any
    headers: tuple[str, ...]
    max_length: int | None = None
    # Shown with a required mark on the mapping form; the kind's `check_mapping` says what is really required.
    required: bool = False


def _nfkc(value: str) -> str:
    """Full-width digits and letters to half-width (１３８ → 138), compatibility forms folded, stripped."""
    return unicodedata.normalize("NFKC", value or "").strip()


_HEADER_NOISE = re.compile(r"[\s*:：_\-]+")
_HEADER_NOTE = re.compile(r"[(（][^)）]*[)）]")


def header_key(value: str) -> str:
    """ "*客户名称（必填）" and "Customer Name" compare as "客户名称" and "customername"."""
    return _HEADER_NOISE.sub("", _HEADER_NOTE.sub("", _nfkc(value).lower()))


def guess_mapping(headers: list[str], targets: Iterable[Target]) -> dict[str, int]:
    """Map recognised headers to targets: for each target its best alias present, each column used once."""
    by_key: dict[str, int] = {}
    for index, header in enumerate(headers):
        by_key.setdefault(header_key(header), index)
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for target in targets:
        for alias in target.headers:
            index = by_key.get(header_key(alias))
            if index is not None and index not in used:
                mapping[target.key] = index
                used.add(index)
                break
    return mapping


# --- cells -------------------------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """An Excel cell as the text the user typed: 13812345678.0 → "13812345678", dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def clean_cell(value: str) -> str:
    value = value.strip()
    # A rejected-rows file neutralised formula-looking cells with a leading apostrophe: undone on re-upload.
    if value.startswith("'") and neutralise(value[1:]) == value:
        value = value[1:]
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: str) -> dt.date | None:
    """A date as offices write it (1990-05-31, 1990/5/31, 1990年5月31日, 19900531…), or None. An ISO date (as an
    XLSX date cell reads) is taken without trying the formats one by one."""
    text = _nfkc(value).replace(" 00:00:00", "")
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # not a day of the calendar: no format below reads it either
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# --- files -------------------------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, then GB18030, the superset of GBK that Chinese Excel writes."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8 or .xlsx.")) from exc


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    # The delimiter is the commonest of , tab ; on the first non-blank line (read without copying the text).
    start = len(text) - len(text.lstrip("\r\n"))
    end = text.find("\n", start)
    first_line = text[start : end if end >= 0 else len(text)]
    delimiter = max([",", "\t", ";"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            # A quoted cell may span lines: a row is numbered by the line it starts on, as an editor shows it.
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            _("Line %(line)d of the file is not valid CSV (%(error)s).") % {"line": line, "error": exc}
        ) from exc


class _FirstSheetReader(ExcelReader):
    """openpyxl's workbook reader (shared strings, the styles that make a number a date), stopping before it opens
    the worksheets: openpyxl's read-only worksheet scans a sheet's whole XML for its <dimension> when the file has
    none (or places it late), which for a long sheet is the very read we avoid. The first sheet's rows are then
    parsed one at a time by openpyxl's own sheet parser."""

    sheet_path: str | None = None

    def read_worksheets(self) -> None:
        for _sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                self.sheet_path = rel.target
                return


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    unreadable = _("This file could not be read as an Excel workbook (.xlsx).")
    try:
        unpacked = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ImportFileError(unreadable) from exc
    limit = settings.IMPORT_MAX_UNPACKED_BYTES
    if unpacked > limit:
        raise ImportFileError(
            _("This workbook unpacks to more than %(size)s; save it as CSV or split it into smaller files.")
            % {"size": filesizeformat(limit)}
        )
    try:
        workbook = _FirstSheetReader(io.BytesIO(data), read_only=True, data_only=True)
        workbook.read()
        source = workbook.archive.open(workbook.sheet_path)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike all mean "not a workbook"
        raise ImportFileError(unreadable) from exc
    # The dimension a file claims (A1:A1, or a million rows) is never read: rows come until they end, each numbered
    # as the sheet numbers it. Cells past the column cap are not kept; one more is kept to tell a row is too wide.
    parser = WorkSheetParser(
        source,
        workbook.shared_strings,
        data_only=True,
        epoch=workbook.wb.epoch,
        date_formats=workbook.wb._date_formats,
        timedelta_formats=workbook.wb._timedelta_formats,
    )
    width = max_columns() + 1
    try:
        for number, cells in parser.parse():
            values = [""] * min(width, max((c["column"] for c in cells), default=0))
            for cell in cells:
                if cell["column"] <= width:
                    values[cell["column"] - 1] = cell_text(cell["value"])
            yield number, values
    except Exception as exc:  # noqa: BLE001 - a broken sheet part found while reading
        raise ImportFileError(unreadable) from exc
    finally:
        source.close()
        workbook.archive.close()


def _trimmed(cells: list[str]) -> list[str]:
    cells = [clean_cell(c) for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s rows; split it into files of at most %(max)s rows.")
        % {"max": f"{max_rows():,}"}
    )


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Open a file's bytes: its encoding, its header row (the first non-blank row) and its data rows (blank ones
    skipped), read lazily and within the caps. Raises ImportFileError for a file that cannot be imported."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        encoding = "xlsx"
        rows = _xlsx_rows(data)
    elif name.endswith(".csv"):
        text, encoding = _decode(data)
        rows = _csv_rows(text)
    else:
        raise ImportFileError(_("Upload a CSV or Excel (.xlsx) file."))
    limit_rows, limit_columns = max_rows(), max_columns()
    headers: list[str] | None = None
    header_line = 0
    for number, cells in rows:
        if number > limit_rows:
            raise _too_many_rows()
        cells = _trimmed(cells)
        if cells:
            headers, header_line = cells, number
            break
    if headers is None:
        raise ImportFileError(_("The file is empty."))
    if len(headers) > limit_columns:
        raise ImportFileError(
            _(
                "The header row has %(count)s columns; at most %(max)d can be imported. Remove the columns you do not need."
            )
            % {"count": f"{len(headers):,}", "max": limit_columns}
        )

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, cells in rows:
            if number - header_line > limit_rows:
                raise _too_many_rows()
            cells = _trimmed(cells)
            if len(cells) > limit_columns:
                raise ImportFileError(
                    _("Row %(line)d has more than %(max)d columns; at most %(max)d can be imported.")
                    % {"line": number, "max": limit_columns}
                )
            if cells:
                yield number, cells

    return Sheet(encoding=encoding, headers=headers, header_line=header_line, rows=data_rows())


def check_upload_name(name: str, size: int | None) -> None:
    """Refuse a file by its name and size before reading it."""
    lowered = (name or "").lower()
    if lowered.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) are not supported; save the file as .xlsx or CSV."))
    if not lowered.endswith(ALLOWED_EXTENSIONS):
        raise ImportFileError(_("Upload a CSV or Excel (.xlsx) file."))
    limit = max_upload_bytes()
    if size is not None and size > limit:
        raise ImportFileError(
            _("The file is larger than %(size)s; split it into smaller files.") % {"size": filesizeformat(limit)}
        )
    if not size:
        raise ImportFileError(_("The file is empty."))


def batched(rows: Iterable[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
