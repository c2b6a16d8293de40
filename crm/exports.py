"""What an export kind is, and the files every export writes: the list a user sees, as CSV or XLSX.

An export is "export what I see": the list page's own FilterSet over the records the user may see
(`visible_to(user)`), read in keyset batches (`crm.selectors.keyset`) so memory holds one batch however many rows
are exported, and written cell by cell through `crm.spreadsheet.neutralise`. A kind supplies only what differs
from one kind of record to another:

- who may export it (`can_export`) and its list's FilterSet over what the user may see (`filterset`);
- its columns (`base_columns`; with `custom_kind`, one more per custom field of that kind in use), the one query
  that reads its rows (`rows_queryset`, a `values()` queryset keeping the list's order) and how a row reads
  (`row`: masked phones and emails on the records the exporter does not own, as the pages show them);
- its wording, its list page, its audit action (`export_action`; downloading a file the job prepared is audited as
  `download_action()`, that action with `.download` after it) and its file name.

A kind is registered from its app's `AppConfig.ready()` with `crm.registry.registry.add_export_kind(Kind)`. The
request, the audit and the background job of large exports (`customers.services.export`, on the one `ExportJob`
model) serve every kind alike.

Files:
- CSV is UTF-8 with a BOM (Excel only recognises UTF-8 with it), one row per record.
- Phones and codes stay text: phones are written in their international form with spaces (+86 138 1234 5678);
  any other long digit-only value gets an invisible leading tab in CSV so Excel neither shows 9.13E+17 nor drops
  leading zeros. In XLSX every text cell is a string cell with number format "@".
- Every cell a spreadsheet would evaluate (=, +, -, @, a tab or a line break first, unless it is a plain number)
  is neutralised with a leading apostrophe (CSV/formula injection): every cell of the CSV, phones included, and
  every text cell of the XLSX but the phones, which the export formats itself and a typed string cell never
  evaluates.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from crm.api.models import CustomField
from crm.api.services.custom_field import custom_fields_for, custom_text
from crm.errors import DomainError
from crm.selectors.keyset import keyset_batches
from crm.spreadsheet import neutralise

FORMATS = ("csv", "xlsx")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# Rows read per query.
CHUNK_SIZE = 2000

# Counted no further than this (DESIGN.md §8: no exact COUNT over a million rows just to show a number).
COUNT_CAP = 10_000

# Parameters of a list page that are not filters: they neither change the rows nor belong in the audit.
NON_FILTER_PARAMS = {"format", "page"}


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    width: int = 14
    kind: str = "text"  # "text", "phone" (formatted by the export from E.164), "datetime", "date" or "number"


def filter_params(query: QueryDict) -> dict[str, list[str]]:
    """The list's filter parameters (what the audit records and a job replays), without paging or format."""
    return {
        key: query.getlist(key) for key in sorted(query) if key not in NON_FILTER_PARAMS and any(query.getlist(key))
    }


def params_querydict(params: dict[str, Iterable[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, list(values))
    return query


def sync_limit() -> int:
    """Exports up to this many rows are answered directly; larger ones become a job run by Celery."""
    return getattr(settings, "EXPORT_SYNC_LIMIT", 5000)


def count_capped(queryset: QuerySet) -> int:
    """The number of rows, counted no further than COUNT_CAP + 1. Always exact up to the sync limit, which is what
    decides stream or job."""
    cap = max(COUNT_CAP, sync_limit())
    return queryset.order_by()[: cap + 1].count()


class ExportKind:
    """Base of an export kind. Class attributes and classmethods describe the kind; an instance is one file written
    for one user, with its headers and choice names read once, in the language active when it was made."""

    key: ClassVar[str] = ""
    # The custom-field kind whose fields in use become columns (crm.api.models.CustomField.kind), if any.
    custom_kind: ClassVar[str | None] = None
    base_columns: ClassVar[list[Column]] = []
    list_url_name: ClassVar[str] = ""
    export_url_name: ClassVar[str] = ""
    export_action: ClassVar[str] = ""
    filename_prefix: ClassVar[str] = ""
    order: ClassVar[int] = 100

    def __init__(self, *, tenant_id: int, viewer_id: int, tz: zoneinfo.ZoneInfo) -> None:
        self.tenant_id = tenant_id
        self.viewer_id = viewer_id
        self.tz = tz
        self.custom: list[CustomField] = custom_fields_for(tenant_id, self.custom_kind) if self.custom_kind else []
        self.columns = [*self.base_columns, *(Column(f"custom_{f.key}", f.label, 16) for f in self.custom)]
        self.headers = [str(c.label) for c in self.columns]
        self.yes, self.no = _("Yes"), _("No")

    # --- what the kind supplies -----------------------------------------------------------------------------

    @classmethod
    def label(cls) -> str:
        """The records' plural name: the sheet's title and the exports page's "what" column."""
        raise NotImplementedError

    @classmethod
    def can_export(cls, user: Any) -> bool:
        raise NotImplementedError

    @classmethod
    def refusal(cls) -> str:
        """Why someone who may not export this kind is refused."""
        raise NotImplementedError

    @classmethod
    def filterset(cls, *, user: Any, params: QueryDict, request: Any = None) -> Any:
        """The list page's FilterSet over the records `user` may see, bound to `params` (the list's GET)."""
        raise NotImplementedError

    @classmethod
    def rows_queryset(cls, queryset: QuerySet) -> QuerySet:
        """One `values()` query for the filtered records with what their rows need joined, in the list's order."""
        raise NotImplementedError

    def row(self, values: dict[str, Any]) -> list[Any]:
        """One record's cells (str, number, naive local datetime, date or None), in the order of `base_columns`."""
        raise NotImplementedError

    @classmethod
    def wording(cls, count: int | None = None) -> dict[str, str]:
        """The confirmation page's sentences: title, count (of `count` rows), capped (more than %(cap)s), all (no
        filter), and ready (the job's notification for `count` rows)."""
        raise NotImplementedError

    # --- the machine ----------------------------------------------------------------------------------------

    @classmethod
    def download_action(cls) -> str:
        """The audit action of downloading a file a job prepared: the export's own action, then `.download`. Each
        app registers its sentence beside the export's."""
        return f"{cls.export_action}.download"

    @classmethod
    def require_export(cls, user: Any) -> None:
        if not cls.can_export(user):
            raise PermissionDenied(cls.refusal())

    @classmethod
    def filtered(cls, *, user: Any, params: QueryDict, request: Any = None) -> QuerySet:
        """The list exactly as its page filters it for `user`. Refuses invalid filters rather than silently
        exporting more than the user asked for."""
        filterset = cls.filterset(user=user, params=params, request=request)
        if not filterset.is_valid():
            raise DomainError(_("The filters of this list are not valid; correct them and export again."))
        return filterset.qs

    @classmethod
    def filename(cls, fmt: str, *, tz: zoneinfo.ZoneInfo, now: datetime) -> str:
        return f"{cls.filename_prefix}-{now.astimezone(tz):%Y%m%d-%H%M}.{fmt}"

    def local(self, value: datetime | None) -> datetime | None:
        # Naive, in the tenant's time zone: what the tenant's users read on their walls (and what XLSX can store).
        return value.astimezone(self.tz).replace(tzinfo=None) if value else None

    def owns(self, owner_id: int | None) -> bool:
        """Whether the exporter owns the record whose owner is `owner_id`: only then are its phones and emails
        written unmasked, as on the pages (an export is no way around the reveal log)."""
        return owner_id is not None and owner_id == self.viewer_id

    def custom_cells(self, values: dict[str, Any]) -> list[str]:
        stored = values.get("custom") or {}
        return [custom_text(field, stored.get(field.key)) for field in self.custom]

    def rows(self, queryset: QuerySet) -> Iterator[list[Any]]:
        """The export's data rows, streamed: read in keyset batches of CHUNK_SIZE, one query each in the list's
        order (server-side cursors are off for PgBouncer)."""
        for batch in keyset_batches(self.rows_queryset(queryset), size=CHUNK_SIZE):
            for values in batch:
                yield [*self.row(values), *self.custom_cells(values)]


_LONG_DIGITS = re.compile(r"^\+?\d{12,}$|^0\d+$")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = neutralise(str(value))
    if _LONG_DIGITS.match(text):
        # Excel would show 9.13301E+17 (and lose digits) or drop leading zeros; a leading tab keeps it text.
        return "\t" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(kind: ExportKind, queryset: QuerySet) -> Iterator[str]:
    """The CSV as text chunks: the BOM, the header, then one chunk per row. The headers were read when `kind` was
    made, in the caller's language; the rows are read when the chunks are consumed."""
    writer = csv.writer(_Echo())
    header = writer.writerow([csv_cell(h) for h in kind.headers])

    def generate() -> Iterator[str]:
        yield "\ufeff" + header
        for row in kind.rows(queryset):
            yield writer.writerow([csv_cell(v) for v in row])

    return generate()


def write_csv(kind: ExportKind, queryset: QuerySet, out: IO[bytes]) -> int:
    """Write the CSV (UTF-8 with BOM) to a binary file; returns the number of data rows."""
    count = -1
    for chunk in csv_chunks(kind, queryset):
        out.write(chunk.encode("utf-8"))
        count += 1
    return count


def write_xlsx(kind: ExportKind, queryset: QuerySet, out: IO[bytes]) -> int:
    """Write the XLSX (write-only workbook: memory stays flat however many rows); returns the number of data
    rows. Text cells are strings with number format "@", dates are real dates in the tenant's time zone."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(kind.label())[:31])
    for index, column in enumerate(kind.columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in kind.headers:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in kind.rows(queryset):
        sheet.append([_xlsx_cell(sheet, column, value) for column, value in zip(kind.columns, row, strict=True)])
        count += 1
    workbook.save(out)
    return count


def _xlsx_cell(sheet, column: Column, value: Any) -> WriteOnlyCell:
    if column.kind in ("datetime", "date"):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm" if column.kind == "datetime" else "yyyy-mm-dd"
        return cell
    if column.kind == "number" and isinstance(value, int | Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00" if isinstance(value, Decimal) else "0"
        return cell
    text = None if value in (None, "") else str(value) if column.kind == "phone" else neutralise(str(value))
    cell = WriteOnlyCell(sheet, value=text)
    if cell.value is not None:
        # openpyxl reads a string starting with "=" as a formula; neutralise() already prevents that, and an
        # explicit string type makes sure nothing a user typed is ever evaluated.
        cell.data_type = "s"
    cell.number_format = "@"
    return cell


def write(fmt: str, kind: ExportKind, queryset: QuerySet, out: IO[bytes]) -> int:
    if fmt == "xlsx":
        return write_xlsx(kind, queryset, out)
    return write_csv(kind, queryset, out)
