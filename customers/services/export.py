"""Exports of the customer list (CSV, XLSX): Excel-safe cells, streamed rows, direct download under a size limit
and a background job above it; every export audited.

- CSV is UTF-8 with a BOM (Excel only recognises UTF-8 with it), one row per customer.
- Phones and codes stay text: phones are written in their international form with spaces (+86 138 1234 5678);
  any other long digit-only value (an all-digit credit code, a WeChat id of digits…) gets an invisible leading tab
  in CSV so Excel neither shows 9.13E+17 nor drops leading zeros. In XLSX every text cell is a string cell with
  number format "@".
- Every cell a spreadsheet would evaluate (=, +, -, @, a tab or a line break first, unless it is a plain number)
  is neutralised with a leading apostrophe by `crm.spreadsheet.neutralise` (CSV/formula injection): every cell
  of the CSV, phones included ("'+86 138 1234 5678", which Excel would otherwise evaluate), and every text cell
  of the XLSX but the phones, which the export formats itself from E.164 and a typed string cell never
  evaluates.
"""

from __future__ import annotations

import csv
import logging
import re
import secrets
import tempfile
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import FilteredRelation, Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from crm.api.models import CustomField
from crm.api.services.custom_field import custom_fields_for, custom_text
from crm.errors import DomainError
from crm.files import file_save
from crm.models import Tenant, User
from crm.selectors.keyset import keyset_batches
from crm.services import outbox
from crm.services.audit import audit
from crm.services.notification import notify
from crm.spreadsheet import neutralise
from customers import tasks
from customers.access import can_export, require_export
from customers.models import Customer, ExportJob
from customers.normalize import format_phone, mask
from customers.selectors.export import count_capped, filter_params, filtered_customers, params_querydict, sync_limit

logger = logging.getLogger(__name__)


FORMATS = ("csv", "xlsx")


CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    width: int = 14
    kind: str = "text"  # "text", "phone" (formatted by the export from E.164) or "datetime"


COLUMNS = [
    Column("name", gettext_lazy("Name"), 30),
    Column("kind", gettext_lazy("Type"), 10),
    Column("status", gettext_lazy("Status"), 12),
    Column("level", gettext_lazy("Level"), 14),
    Column("industry", gettext_lazy("Industry")),
    Column("region", gettext_lazy("Region")),
    Column("source", gettext_lazy("Source")),
    Column("owner", gettext_lazy("Owner")),
    Column("pool", gettext_lazy("Pool")),
    Column("key_account", gettext_lazy("Key account"), 10),
    Column("credit_code", gettext_lazy("Unified social credit code"), 22),
    Column("contact_name", gettext_lazy("Primary contact"), 16),
    Column("mobile", gettext_lazy("Mobile"), 20, "phone"),
    Column("email", gettext_lazy("Email"), 26),
    Column("wechat", gettext_lazy("WeChat ID"), 16),
    Column("last_followed_up_at", gettext_lazy("Last follow-up"), 17, "datetime"),
    Column("created_at", gettext_lazy("Created"), 17, "datetime"),
]


VALUES = [
    "pk",
    "name",
    "kind",
    "status",
    "level__code",
    "level__name",
    "industry",
    "region",
    "source",
    "owner_id",
    "owner__full_name",
    "owner__email",
    "pool__name",
    "is_key_account",
    "credit_code",
    "primary_contact__name",
    "primary_contact__mobile",
    "primary_contact__email",
    "primary_contact__wechat",
    "last_followed_up_at",
    "created_at",
    "custom",
]


_LONG_DIGITS = re.compile(r"^\+?\d{12,}$|^0\d+$")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = neutralise(str(value))
    if _LONG_DIGITS.match(text):
        # Excel would show 9.13301E+17 (and lose digits) or drop leading zeros; a leading tab keeps it text.
        return "\t" + text
    return text


def export_queryset(queryset: QuerySet[Customer]) -> QuerySet:
    """The rows of an export, one query: the filtered customers with level, owner, pool and primary contact
    joined. The queryset's order (the list's sort) is kept."""
    return queryset.annotate(
        primary_contact=FilteredRelation("contacts", condition=Q(contacts__is_primary=True))
    ).values(*VALUES)


@dataclass(frozen=True)
class Labels:
    """Headers and choice names, read once in the active language."""

    headers: list[str]
    # The columns: COLUMNS, then one per custom field of customers in use, in their order.
    columns: list[Column]
    custom: list[CustomField]
    kinds: dict[str, str]
    statuses: dict[str, str]
    yes: str
    no: str

    @classmethod
    def current(cls, viewer_id: int) -> Labels:
        tenant_id = User.objects.filter(pk=viewer_id).values_list("tenant_id", flat=True).first()
        custom = custom_fields_for(tenant_id, "customer")
        columns = [*COLUMNS, *(Column(f"custom_{f.key}", f.label, 16) for f in custom)]
        return cls(
            headers=[str(c.label) for c in columns],
            columns=columns,
            custom=custom,
            kinds={k: str(v) for k, v in Customer.Kind.choices},
            statuses={k: str(v) for k, v in Customer.Status.choices},
            yes=_("Yes"),
            no=_("No"),
        )


def _level(code: str | None, name: str | None) -> str:
    if not code:
        return ""
    return f"{code} · {name}" if name and name != code else code


def _local(value: datetime | None, tz: zoneinfo.ZoneInfo) -> datetime | None:
    # Naive, in the tenant's time zone: what the tenant's users read on their walls (and what XLSX can store).
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def rows(queryset: QuerySet[Customer], *, tz: zoneinfo.ZoneInfo, labels: Labels, viewer_id: int) -> Iterator[list[Any]]:
    """The export's data rows as Python values (str, naive local datetime or None), streamed from the database.
    Phones, emails and WeChat ids are masked on the customers the exporting user (`viewer_id`) does not own, as on the pages
    (customers.access.sees_personal_data): an export is no way around the reveal log.

    Read in keyset batches of CHUNK_SIZE (crm.selectors.keyset), one query each in the list's order, so memory
    holds one batch however many rows are exported (server-side cursors are off for PgBouncer)."""
    for r in (row for batch in keyset_batches(export_queryset(queryset), size=CHUNK_SIZE) for row in batch):
        own = r["owner_id"] is not None and r["owner_id"] == viewer_id
        mobile = r["primary_contact__mobile"] or ""
        email = r["primary_contact__email"] or ""
        yield [
            r["name"],
            labels.kinds.get(r["kind"], r["kind"]),
            labels.statuses.get(r["status"], r["status"]),
            _level(r["level__code"], r["level__name"]),
            r["industry"],
            r["region"],
            r["source"],
            r["owner__full_name"] or r["owner__email"] or "",
            r["pool__name"],
            labels.yes if r["is_key_account"] else labels.no,
            r["credit_code"],
            r["primary_contact__name"] or "",
            format_phone(mobile) if own else mask("mobile", mobile),
            email if own else mask("email", email),
            (r["primary_contact__wechat"] or "") if own else mask("wechat", r["primary_contact__wechat"] or ""),
            _local(r["last_followed_up_at"], tz),
            _local(r["created_at"], tz),
            *(custom_text(field, (r["custom"] or {}).get(field.key)) for field in labels.custom),
        ]


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(queryset: QuerySet[Customer], *, tz: zoneinfo.ZoneInfo, viewer_id: int) -> Iterator[str]:
    """The CSV as text chunks: the BOM, the header, then one chunk per row. Labels are read now, in the caller's
    language; the rows are read when the chunks are consumed."""
    labels = Labels.current(viewer_id)
    writer = csv.writer(_Echo())
    header = writer.writerow([csv_cell(h) for h in labels.headers])

    def generate() -> Iterator[str]:
        yield "\ufeff" + header
        for row in rows(queryset, tz=tz, labels=labels, viewer_id=viewer_id):
            yield writer.writerow([csv_cell(v) for v in row])

    return generate()


def write_csv(queryset: QuerySet[Customer], out: IO[bytes], *, tz: zoneinfo.ZoneInfo, viewer_id: int) -> int:
    """Write the CSV (UTF-8 with BOM) to a binary file; returns the number of data rows."""
    count = -1
    for chunk in csv_chunks(queryset, tz=tz, viewer_id=viewer_id):
        out.write(chunk.encode("utf-8"))
        count += 1
    return count


def write_xlsx(queryset: QuerySet[Customer], out: IO[bytes], *, tz: zoneinfo.ZoneInfo, viewer_id: int) -> int:
    """Write the XLSX (write-only workbook: memory stays flat however many rows); returns the number of data
    rows. Text cells are strings with number format "@", dates are real dates in the tenant's time zone."""
    labels = Labels.current(viewer_id)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Customers")[:31])
    for index, column in enumerate(labels.columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in labels.headers:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows(queryset, tz=tz, labels=labels, viewer_id=viewer_id):
        sheet.append([_xlsx_cell(sheet, column, value) for column, value in zip(labels.columns, row, strict=True)])
        count += 1
    workbook.save(out)
    return count


def _xlsx_cell(sheet, column: Column, value: Any) -> WriteOnlyCell:
    if column.kind == "datetime":
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    text = None if value in (None, "") else str(value) if column.kind == "phone" else neutralise(str(value))
    cell = WriteOnlyCell(sheet, value=text)
    if cell.value is not None:
        # openpyxl reads a string starting with "=" as a formula; neutralise() already prevents that, and an
        # explicit string type makes sure nothing a user typed is ever evaluated.
        cell.data_type = "s"
    cell.number_format = "@"
    return cell


def write(fmt: str, queryset: QuerySet[Customer], out: IO[bytes], *, tz: zoneinfo.ZoneInfo, viewer_id: int) -> int:
    if fmt == "xlsx":
        return write_xlsx(queryset, out, tz=tz, viewer_id=viewer_id)
    return write_csv(queryset, out, tz=tz, viewer_id=viewer_id)


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def filename(fmt: str, *, tz: zoneinfo.ZoneInfo, now: datetime) -> str:
    return f"customers-{now.astimezone(tz):%Y%m%d-%H%M}.{fmt}"


EXPORT_KEEP_DAYS = 7


# A job left "running" this long was lost with its worker; a redelivered task may take it over.
STALE_RUNNING = timedelta(minutes=30)


@dataclass
class ExportPlan:
    """What an export request turned into: rows to stream now, or a job the worker runs."""

    fmt: str
    queryset: QuerySet[Customer]
    rows: int
    job: ExportJob | None = None


def customer_export(*, acting_user: User, params: QueryDict, fmt: str, request: Any = None) -> ExportPlan:
    """Export the filtered list. Managers and admins only; every export is an audit event with its filters and
    exact row count. Up to sync_limit() rows the caller streams the file and the event is written now; above,
    an ExportJob is queued after commit and the worker writes the event when the file exists."""
    require_export(acting_user)
    if fmt not in FORMATS:
        raise DomainError(_("Choose CSV or Excel."), field="format")
    queryset = filtered_customers(user=acting_user, params=params, request=request)
    count = count_capped(queryset)
    filters = filter_params(params)
    with transaction.atomic():
        if count > sync_limit():
            job = ExportJob.objects.create(
                tenant_id=acting_user.tenant_id, created_by=acting_user, format=fmt, query={"params": filters}
            )
            _enqueue(job.tenant_id, job.pk)
            return ExportPlan(fmt=fmt, queryset=queryset, rows=count, job=job)
        _audit_export(acting_user, fmt=fmt, filters=filters, rows=count)
    return ExportPlan(fmt=fmt, queryset=queryset, rows=count)


def _audit_export(user: User, *, fmt: str, filters: dict, rows: int, job: ExportJob | None = None) -> None:
    audit(
        tenant=user.tenant,
        actor=user,
        action="customer.export",
        obj=job,
        details={"format": fmt, "filters": filters, "rows": rows, "job": job.pk if job else None},
    )


def _enqueue(tenant_id: int, job_id: int) -> None:
    outbox.enqueue(tasks.run_export, tenant_id, job_id)


def export_run(*, job_id: int) -> ExportJob | None:
    """Write a queued export's file into media storage. Claimed by a conditional UPDATE, so two copies of the
    task never both write it; a job whose worker died long ago may be taken over. Returns None when there was
    nothing to do."""
    now = timezone.now()
    claimable = Q(status=ExportJob.Status.QUEUED) | Q(
        status=ExportJob.Status.RUNNING, updated_at__lt=now - STALE_RUNNING
    )
    won = ExportJob.objects.filter(claimable, pk=job_id).update(status=ExportJob.Status.RUNNING, updated_at=now)
    if not won:
        return None
    job = ExportJob.objects.select_related("tenant", "created_by").get(pk=job_id)
    user = job.created_by
    language = user.effective_language if user is not None else settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            if user is None or not can_export(user) or user.tenant_id != job.tenant_id:
                raise DomainError(_("The person who asked for this export may no longer export customers."))
            queryset = filtered_customers(user=user, params=params_querydict(job.query.get("params", {})))
            with tempfile.TemporaryFile() as tmp:
                count = write(job.format, queryset, tmp, tz=job.tenant.tzinfo, viewer_id=user.pk)
                tmp.seek(0)
                file_save(job.file, f"customers-{job.pk}-{secrets.token_hex(8)}.{job.format}", File(tmp))
            title = ngettext(
                "Your export of %(count)d customer is ready", "Your export of %(count)d customers is ready", count
            ) % {"count": count}
    except Exception as exc:
        with translation.override(language):
            failed = _("The export failed; try again or ask an admin.")
        message = exc.message if isinstance(exc, DomainError) else failed
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
        )
        if isinstance(exc, DomainError):
            logger.info("Export %s of tenant %s refused: %s", job.pk, job.tenant_id, message)
            job.refresh_from_db()
            return job
        raise
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.DONE,
            file=job.file.name,
            row_count=count,
            error="",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        _audit_export(user, fmt=job.format, filters=job.query.get("params", {}), rows=count, job=job)
        # In the same transaction: whoever sees the job done sees its notification too.
        notify(
            recipient=user,
            title=title,
            url=reverse("customers:exports"),
            key=f"export:{job.pk}",
            email=False,
        )
    return job


def export_is_running(job_id: int) -> bool:
    return ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).exists()


def exports_expire(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Delete exports (and their files, which hold customer data) older than EXPORT_KEEP_DAYS."""
    now = now or timezone.now()
    old = list(ExportJob.objects.for_tenant(tenant).filter(created_at__lt=now - timedelta(days=EXPORT_KEEP_DAYS)))
    for job in old:
        if job.file:
            job.file.delete(save=False)
    ExportJob.objects.filter(pk__in=[job.pk for job in old]).delete()
    return len(old)
