"""Customer import (issue 3): read CSV/XLSX as Chinese offices export them, map columns, classify every row, and
commit the valid rows in one transaction.

The flow is upload → mapping → preview → commit. Each step is a keyword-only function below; the views call them
and the Celery task in `import_jobs.py` calls `import_execute` for large files.

Rules of a row (the same in the preview and again at commit):
- invalid, with a reason per cell: no customer name; a phone `normalize_phone` rejects; an email Django's
  EmailValidator rejects; a birthday that is not a date, in the future or before 1900; a level that is not a code,
  name or alias of one of the tenant's levels; a value longer than its field; a malformed credit code;
- duplicate: one of its identifiers (`services.identifiers_of`: normalized company name, credit code, phones,
  email) belongs to a live customer (`CustomerIdentifier`, the database's own 防撞单 index), or to a valid row
  earlier in the file;
- valid otherwise. Only valid rows register their identifiers, so a row that repeats an invalid one is judged on
  its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import assignable_users
from crm.errors import DomainError
from crm.locks import CUSTOMER_IMPORT_JOB
from crm.models import AuditEvent, Role, User
from crm.services.audit import audit
from crm.tenancy import context_sql, current_tenant_id
from customers.services.contact import clean_phone
from customers.services.customer import customer_create
from customers.services.identifier import KIND_LABELS, DuplicateCustomer, Identifier, duplicate_error, identifiers_of
from customers.services.tenant import default_pool

from .models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerLevel,
    ImportJob,
    OwnershipEvent,
    Pool,
    credit_code_validator,
)
from .normalize import nfkc, normalize_email, pinyin_forms

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Up to this many rows the commit runs inside the request; above, a Celery job with a progress bar.
INLINE_MAX_ROWS = 2000
PREVIEW_ROWS = 200
BATCH_SIZE = 500
ALLOWED_EXTENSIONS = (".csv", ".xlsx")
REASON_HEADER = "错误原因/reason"


class RowStatus:
    VALID = "valid"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclass(frozen=True)
class Target:
    """A field a column can be mapped to, with the headers recognised for it (normalized by `header_key`)."""

    key: str
    label: Any
    headers: tuple[str, ...]
    max_length: int | None = None


TARGETS: tuple[Target, ...] = (
    Target(
        "name",
        gettext_lazy("Customer name"),
        (
            "客户名称",
            "客户名",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "公司",
            "name",
            "customer name",
            "customer",
            "company name",
            "company",
        ),
        200,
    ),
    Target("level", gettext_lazy("Level"), ("客户级别", "级别", "客户等级", "等级", "level", "grade")),
    Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry"), 50),
    Target(
        "region",
        gettext_lazy("Region"),
        ("地区", "区域", "所在地区", "省份", "城市", "region", "area", "province", "city"),
        50,
    ),
    Target("source", gettext_lazy("Source"), ("来源", "客户来源", "source", "lead source"), 50),
    Target(
        "credit_code",
        gettext_lazy("Unified social credit code"),
        ("统一社会信用代码", "社会信用代码", "信用代码", "credit code", "unified social credit code", "uscc"),
    ),
    Target("address", gettext_lazy("Address"), ("地址", "公司地址", "详细地址", "address"), 300),
    Target("contact", gettext_lazy("Contact"), ("联系人", "联系人姓名", "姓名", "contact", "contact name"), 100),
    Target("title", gettext_lazy("Job title"), ("职务", "职位", "title", "job title", "position"), 100),
    Target(
        "mobile",
        gettext_lazy("Mobile"),
        (
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "mobile",
            "mobile phone",
            "cell",
            "cellphone",
            "联系电话",
            "电话",
            "phone",
        ),
    ),
    Target(
        "phone",
        gettext_lazy("Other phone"),
        (
            "座机",
            "固定电话",
            "固话",
            "办公电话",
            "联系电话",
            "电话",
            "landline",
            "tel",
            "telephone",
            "office phone",
            "phone",
        ),
    ),
    Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "邮件", "email", "e-mail", "mail"), 254),
    Target("wechat", gettext_lazy("WeChat ID"), ("微信", "微信号", "wechat", "wechat id", "weixin"), 64),
    Target(
        "birthday", gettext_lazy("Birthday"), ("生日", "出生日期", "birthday", "date of birth", "birth date", "dob")
    ),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remark", "remarks", "comments")),
)
TARGETS_BY_KEY = {t.key: t for t in TARGETS}
CONTACT_TARGETS = ("title", "mobile", "phone", "email", "wechat", "birthday")


# --- reading files ---------------------------------------------------------------------------------------------


class ImportFileError(DomainError):
    """The uploaded file cannot be imported at all (wrong type, empty, unreadable)."""

    def __init__(self, message: Any):
        super().__init__(message, field="file")


@dataclass
class Sheet:
    """A file's header row and its data rows as (line number, cells); cells are strings. `declared_rows` is the
    last row number an XLSX file declares (its dimension), known without reading the rows."""

    encoding: str
    headers: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[str]]]
    declared_rows: int | None = None


_HEADER_NOISE = re.compile(r"[\s*:：_\-]+")
_HEADER_NOTE = re.compile(r"[(（][^)）]*[)）]")


def header_key(value: str) -> str:
    """ "*客户名称（必填）" and "Customer Name" compare as "客户名称" and "customername"."""
    return _HEADER_NOISE.sub("", _HEADER_NOTE.sub("", nfkc(value).lower()))


def _cell_text(value: Any) -> str:
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


def _clean_cell(value: str) -> str:
    value = value.strip()
    # The rejected-rows file neutralises formula-looking cells with a leading apostrophe; undo it on re-upload.
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        value = value[1:]
    return value


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
    first_line = text.split("\n", 1)[0]
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


def _open_xlsx(data: bytes):
    import openpyxl  # imported here: only uploads of .xlsx pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike all mean "not a workbook"
        raise ImportFileError(_("This file could not be read as an Excel workbook (.xlsx).")) from exc
    try:
        declared = sheet.max_row
    except Exception:  # noqa: BLE001 - a malformed dimension only means we count the rows
        declared = None
    # Some exporters write a wrong dimension (A1:A1): read every row instead of trusting it.
    sheet.reset_dimensions()

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            workbook.close()

    return rows(), declared


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Open a file's bytes: its encoding, header row (the first non-blank row) and data rows (blank ones skipped)."""
    name = filename.lower()
    declared = None
    if name.endswith(".xlsx"):
        encoding = "xlsx"
        rows, declared = _open_xlsx(data)
    elif name.endswith(".csv"):
        text, encoding = _decode(data)
        rows = _csv_rows(text)
    else:
        raise ImportFileError(_("Upload a CSV or Excel (.xlsx) file."))
    headers: list[str] | None = None
    header_line = 0
    for number, cells in rows:
        cells = [_clean_cell(c) for c in cells]
        if any(cells):
            headers, header_line = cells, number
            break
    if headers is None:
        raise ImportFileError(_("The file is empty."))
    while headers and not headers[-1]:
        headers.pop()

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, cells in rows:
            cells = [_clean_cell(c) for c in cells]
            if any(cells):
                yield number, cells

    return Sheet(encoding=encoding, headers=headers, header_line=header_line, rows=data_rows(), declared_rows=declared)


def inspect_upload(uploaded) -> tuple[bytes, Sheet, int]:
    """Check an uploaded file before anything is saved: type, size, readable, a header and at least one row.

    Returns the bytes, the sheet and its number of rows: exact for CSV (counting is fast), an estimate from the
    declared dimension for a large XLSX (openpyxl reads ~7,000 rows a second; the exact count comes with the
    check of the rows, in the worker for large files)."""
    name = uploaded.name or ""
    if name.lower().endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) are not supported; save the file as .xlsx or CSV."))
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ImportFileError(_("Upload a CSV or Excel (.xlsx) file."))
    if uploaded.size is not None and uploaded.size > MAX_UPLOAD_BYTES:
        raise ImportFileError(_("The file is larger than 20 MB; split it into smaller files."))
    if not uploaded.size:
        raise ImportFileError(_("The file is empty."))
    uploaded.seek(0)
    data = uploaded.read()
    sheet = read_sheet(data, name)
    if next(sheet.rows, None) is None:
        raise ImportFileError(_("The file has a header row but no data rows."))
    if sheet.declared_rows and sheet.declared_rows - sheet.header_line > INLINE_MAX_ROWS:
        total = sheet.declared_rows - sheet.header_line
    else:
        total = 1 + sum(1 for _row in sheet.rows)
    return data, sheet, total


def guess_mapping(headers: list[str], targets: Iterable[Target] | None = None) -> dict[str, int]:
    """Map recognised headers to fields: for each field its best alias present, each column used once. `targets`
    are the customers' by default (the lead import passes its own)."""
    by_key: dict[str, int] = {}
    for index, header in enumerate(headers):
        by_key.setdefault(header_key(header), index)
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for target in TARGETS if targets is None else targets:
        for alias in target.headers:
            index = by_key.get(header_key(alias))
            if index is not None and index not in used:
                mapping[target.key] = index
                used.add(index)
                break
    return mapping


# --- classifying rows ------------------------------------------------------------------------------------------


@dataclass
class RowResult:
    number: int
    cells: list[str]
    values: dict[str, str]
    status: str = RowStatus.VALID
    errors: dict[str, str] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] | None = None
    identifiers: list[Identifier] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return " ".join(self.errors.values())

    @property
    def error_fields(self) -> list[str]:
        return list(self.errors)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
_email_validator = EmailValidator()


def _parse_date(value: str) -> dt.date | None:
    text = nfkc(value).replace(" 00:00:00", "")
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def level_lookup(tenant) -> dict[str, CustomerLevel]:
    """Every spelling of a level (code, name, aliases; NFKC, case-folded) → the level."""
    lookup: dict[str, CustomerLevel] = {}
    for level in CustomerLevel.objects.for_tenant(tenant).order_by("order", "code"):
        for spelling in [level.code, level.name, *(level.aliases or [])]:
            key = nfkc(spelling).casefold()
            if key:
                lookup.setdefault(key, level)
    return lookup


class RowClassifier:
    """Classifies the rows of one file in order; keeps what earlier rows registered (in-file duplicates)."""

    def __init__(self, *, tenant, user: User, mapping: dict[str, int]):
        self.tenant = tenant
        self.user = user
        self.mapping = mapping
        self.levels = level_lookup(tenant)
        self.level_names = ", ".join(sorted({lvl.code for lvl in self.levels.values()})) or "—"
        self.today = timezone.now().astimezone(tenant.tzinfo).date()
        self.seen: dict[tuple[str, str], int] = {}
        self._holder_messages: dict[tuple[str, int], str] = {}

    # One row, no database: the per-cell rules.
    def clean(self, number: int, cells: list[str]) -> RowResult:
        values = {
            key: (cells[index] if index < len(cells) else "")
            for key, index in self.mapping.items()
            if key in TARGETS_BY_KEY
        }
        row = RowResult(number=number, cells=cells, values=values)
        errors = row.errors

        def get(key: str) -> str:
            return values.get(key, "")

        for key, value in values.items():
            limit = TARGETS_BY_KEY[key].max_length
            if limit and len(value) > limit:
                errors[key] = _("Too long: at most %(max)d characters.") % {"max": limit}
        name = get("name")
        if not name:
            errors["name"] = _("The customer name is missing.")
        level = None
        if get("level"):
            level = self.levels.get(nfkc(get("level")).casefold())
            if level is None:
                errors["level"] = _("Unknown level “%(value)s”; use one of: %(levels)s.") % {
                    "value": get("level"),
                    "levels": self.level_names,
                }
        credit_code = ""
        if get("credit_code"):
            credit_code = nfkc(get("credit_code")).upper().replace(" ", "")
            try:
                credit_code_validator(credit_code)
            except ValidationError as exc:
                errors["credit_code"] = " ".join(exc.messages)
        phones = {}
        for key in ("mobile", "phone"):
            if get(key):
                try:
                    phones[key] = clean_phone(get(key), self.tenant, key)
                except DomainError as exc:
                    errors[key] = exc.message
        email = ""
        if get("email"):
            email = normalize_email(get("email"))
            try:
                _email_validator(email)
            except ValidationError:
                errors["email"] = _("“%(value)s” is not a valid email address.") % {"value": get("email")}
        birthday = None
        if get("birthday"):
            birthday = _parse_date(get("birthday"))
            if birthday is None:
                errors["birthday"] = _("“%(value)s” is not a date; write it like 1990-05-31.") % {
                    "value": get("birthday")
                }
            elif birthday > self.today:
                errors["birthday"] = _("A birthday cannot be in the future.")
            elif birthday.year < 1900:
                errors["birthday"] = _("A birthday before 1900 is not plausible.")
        if errors:
            row.status = RowStatus.INVALID
            return row
        row.customer = {
            "kind": Customer.Kind.COMPANY,
            "name": name,
            "level": level,
            "industry": get("industry"),
            "region": get("region"),
            "source": get("source"),
            "credit_code": credit_code,
            "address": get("address"),
            "notes": get("notes"),
        }
        if get("contact") or any(get(key) for key in CONTACT_TARGETS):
            # A phone or email without a contact name is kept (and dedup-protected) under the customer's name.
            row.contact = {
                "name": (get("contact") or name)[:100],
                "title": get("title"),
                "mobile": phones.get("mobile", ""),
                "phone": phones.get("phone", ""),
                "email": email,
                "wechat": get("wechat"),
                "birthday": birthday,
            }
        row.identifiers = identifiers_of(row.customer, [row.contact] if row.contact else [])
        return row

    def _holder_message(self, ident: Identifier, holder: Customer) -> str:
        key = (ident.kind, holder.pk)
        if key not in self._holder_messages:
            self._holder_messages[key] = duplicate_error(ident, holder, self.user).message
        return self._holder_messages[key]

    def _taken(self, rows: list[RowResult]) -> dict[tuple[str, str], Customer]:
        """The identifiers of `rows` that belong to live customers: one query for the whole batch."""
        by_kind: dict[str, set[str]] = {}
        for row in rows:
            for ident in row.identifiers:
                by_kind.setdefault(ident.kind, set()).add(ident.value)
        if not by_kind:
            return {}
        query = Q()
        for kind, values in by_kind.items():
            query |= Q(kind=kind, value__in=values)
        taken = (
            CustomerIdentifier.objects.for_tenant(self.tenant)
            .filter(query)
            .select_related("customer__owner", "customer__pool")
        )
        return {(t.kind, t.value): t.customer for t in taken}

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[RowResult]:
        """Classify a batch of consecutive rows (in file order, after every earlier batch)."""
        results = [self.clean(number, cells) for number, cells in batch]
        taken = self._taken([r for r in results if r.status == RowStatus.VALID])
        for row in results:
            if row.status != RowStatus.VALID:
                continue
            # A live customer holding one of its identifiers is said first, then an earlier row of the file.
            holder = next((taken[i.kind, i.value] for i in row.identifiers if (i.kind, i.value) in taken), None)
            if holder is not None:
                ident = next(i for i in row.identifiers if taken.get((i.kind, i.value)) is holder)
                row.errors[ident.field] = self._holder_message(ident, holder)
            else:
                ident = next((i for i in row.identifiers if (i.kind, i.value) in self.seen), None)
                if ident is not None:
                    row.errors[ident.field] = _("%(what)s already appears in row %(row)d of this file.") % {
                        "what": KIND_LABELS[ident.kind](),
                        "row": self.seen[ident.kind, ident.value],
                    }
            if row.errors:
                row.status = RowStatus.DUPLICATE
            else:
                for ident in row.identifiers:
                    self.seen[(ident.kind, ident.value)] = row.number
        return results

    def run(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[RowResult]:
        for batch in _batched(rows, BATCH_SIZE):
            yield from self.classify(batch)


def _batched(rows: Iterable[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- permissions and the import target -----------------------------------------------------------------------

IMPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.REP)


def can_import(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.tenant_id and user.has_any_role(*IMPORT_ROLES))


def require_import(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied(_("Only sales reps, managers and administrators import customers."))


def import_owners(user: User):
    """Whom `user` may import for: an admin any active colleague, a manager the members of their teams and
    themself, a rep only themself (reps import into their own holdings)."""
    return assignable_users(user)


def may_choose_pool(user: User) -> bool:
    return user.has_any_role(Role.ADMIN, Role.MANAGER)


def imports_by_rules(job: ImportJob) -> bool:
    """The job gives each new customer an owner by the assignment rules (customers.services.assignment)."""
    return bool((job.mapping or {}).get("by_rules"))


def import_target(job: ImportJob, user: User) -> tuple[User | None, Pool | None]:
    """The owner (or pool) the job imports into, re-checked against what `user` may choose now. By the assignment
    rules: (None, None) — each row's owner or pool is decided at commit."""
    owner_id = (job.mapping or {}).get("owner")
    if imports_by_rules(job):
        if not may_choose_pool(user):
            raise PermissionDenied(_("Only managers and administrators import by the assignment rules."))
        return None, None
    if owner_id is None:
        if not may_choose_pool(user):
            raise PermissionDenied(_("Only managers and administrators import into the pool."))
        return None, default_pool(job.tenant)
    owner = import_owners(user).filter(pk=owner_id).first()
    if owner is None:
        raise DomainError(_("The chosen owner can no longer receive customers from you; upload the file again."))
    return owner, None


def can_access_job(user: User, job: ImportJob) -> bool:
    """The person who uploaded it, and the tenant's administrators."""
    return job.tenant_id == user.tenant_id and (job.created_by_id == user.pk or user.has_any_role(Role.ADMIN))


# --- upload, mapping, preview ------------------------------------------------------------------------------------


def import_upload(*, acting_user: User, uploaded, owner: User | None, by_rules: bool = False) -> ImportJob:
    """Check the file and keep it in media storage (where the worker reads it). `owner` None = the default pool, or
    with `by_rules` an owner per row chosen by the assignment rules. Raises ImportFileError before saving anything
    when the file cannot be imported."""
    require_import(acting_user)
    if by_rules:
        if not may_choose_pool(acting_user):
            raise DomainError(_("Only managers and administrators import by the assignment rules."), field="owner")
        owner = None
    if owner is None and not by_rules and not may_choose_pool(acting_user):
        owner = acting_user
    if owner is not None and not import_owners(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("You cannot import customers for this colleague."), field="owner")
    data, sheet, total = inspect_upload(uploaded)
    job = ImportJob(
        tenant=acting_user.tenant,
        created_by=acting_user,
        original_name=(uploaded.name or "")[:255],
        encoding=sheet.encoding,
        headers=sheet.headers,
        mapping={"columns": guess_mapping(sheet.headers), "owner": owner.pk if owner else None, "by_rules": by_rules},
        total_rows=total,
    )
    suffix = ".xlsx" if sheet.encoding == "xlsx" else ".csv"
    with transaction.atomic():
        # A random name: nothing in media storage can be found by guessing; downloads go through the views.
        job.file.save(f"{uuid.uuid4().hex}{suffix}", ContentFile(data), save=False)
        job.save()
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="customer.import.upload",
            obj=job,
            details={
                "file": job.original_name,
                "rows": total,
                "owner": owner.pk if owner else None,
                "by_rules": by_rules,
            },
        )
    return job


def job_sheet(job: ImportJob) -> Sheet:
    """The job's file, read back from media storage (where the web process put it and the worker finds it)."""
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:
        raise ImportFileError(_("The uploaded file is no longer available; upload it again.")) from exc
    return read_sheet(data, job.file.name)


def job_columns(job: ImportJob) -> dict[str, int]:
    return {k: int(v) for k, v in ((job.mapping or {}).get("columns") or {}).items() if k in TARGETS_BY_KEY}


def import_map(*, acting_user: User, job: ImportJob, columns: dict[str, int]) -> ImportJob:
    """Save the column mapping and check every row; the counts are kept on the job (summary) and it becomes
    previewed. Small files are checked at once; large ones by a Celery job (`import_jobs.check_import`), the
    preview page following its progress."""
    require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.PREVIEWED):
        raise DomainError(_("This import has already been started."))
    if "name" not in columns:
        raise DomainError(_("Choose the column that holds the customer name."), field="name")
    unknown = [k for k, v in columns.items() if k not in TARGETS_BY_KEY or not 0 <= v < len(job.headers)]
    if unknown:
        raise DomainError(_("Choose columns of the file."))
    # A token ties the check to this mapping: a check still running for an earlier mapping cannot overwrite it.
    token = uuid.uuid4().hex
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.PREVIEWED):
            raise DomainError(_("This import has already been started."))
        job.mapping = {**(job.mapping or {}), "columns": columns}
        job.summary = {"checking": token}
        job.status = ImportJob.Status.UPLOADED
        job.processed_rows = 0
        job.save(update_fields=["mapping", "summary", "status", "processed_rows", "updated_at"])
        if job.total_rows > INLINE_MAX_ROWS:
            from .import_jobs import check_import

            transaction.on_commit(lambda: check_import.delay(job.tenant_id, job.pk, token))
    if job.total_rows <= INLINE_MAX_ROWS:
        import_check(job_id=job.pk, token=token)
        job.refresh_from_db()
    return job


def is_checking(job: ImportJob) -> bool:
    return job.status == ImportJob.Status.UPLOADED and bool((job.summary or {}).get("checking"))


def import_check(*, job_id: int, token: str, progress: ProgressWriter | None = None) -> ImportJob | None:
    """Check every row of a mapped job and keep the counts. Idempotent: does nothing if the mapping changed (another
    token) or the job moved on; on a file that turns out unreadable the job fails with the reason."""
    job = ImportJob.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.UPLOADED or (job.summary or {}).get("checking") != token:
        return None
    user = job.created_by
    pending = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.UPLOADED, summary__checking=token)
    counts = {RowStatus.VALID: 0, RowStatus.DUPLICATE: 0, RowStatus.INVALID: 0}
    by_field: dict[str, int] = {}
    total = 0
    try:
        with translation.override(user.effective_language if user else None):
            classifier = RowClassifier(tenant=job.tenant, user=user, mapping=job_columns(job))
            for row in classifier.run(job_sheet(job).rows):
                total += 1
                counts[row.status] += 1
                if row.status == RowStatus.INVALID:
                    for key in row.errors:
                        by_field[key] = by_field.get(key, 0) + 1
                if progress is not None:
                    progress(total)
    except DomainError as exc:
        pending.update(status=ImportJob.Status.FAILED, error=exc.message[:2000], finished_at=timezone.now())
        return None
    except Exception as exc:
        logger.exception("Check of import %s failed", job_id)
        pending.update(
            status=ImportJob.Status.FAILED,
            error=_("The check failed (%(error)s).") % {"error": type(exc).__name__},
            finished_at=timezone.now(),
        )
        raise
    finally:
        if progress is not None:
            progress.close()
    pending.update(
        status=ImportJob.Status.PREVIEWED,
        summary={**counts, "invalid_by_field": by_field},
        total_rows=total,
        processed_rows=0,
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def preview_rows(
    *, acting_user: User, job: ImportJob, limit: int | None = None, problems_only: bool = False
) -> list[RowResult]:
    """The first `limit` rows (or the first `limit` rejected ones) with their classification."""
    limit = limit or PREVIEW_ROWS
    classifier = RowClassifier(tenant=job.tenant, user=acting_user, mapping=job_columns(job))
    shown: list[RowResult] = []
    for row in classifier.run(job_sheet(job).rows):
        if problems_only and row.status == RowStatus.VALID:
            continue
        shown.append(row)
        if len(shown) >= limit:
            break
    return shown


def _neutralise(value: str) -> str:
    """Excel would run a cell starting with =, @, or + / - not followed by a digit: prefix an apostrophe."""
    if value and (value[0] in "=@\t\r" or (value[0] in "+-" and not value[1:2].isdigit())):
        return "'" + value
    return value


def rejected_csv(headers: list[str], rows: Iterable[RowResult]) -> bytes:
    """The rejected rows, to fix and upload again: UTF-8 with BOM (Excel opens it right), the original columns and
    the reason."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*(_neutralise(h) for h in headers), REASON_HEADER])
    width = len(headers)
    for row in rows:
        cells = (row.cells + [""] * width)[: max(width, len(row.cells))]
        writer.writerow([_neutralise(c) for c in cells] + [row.reason])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def preview_rejected_csv(*, acting_user: User, job: ImportJob) -> bytes:
    classifier = RowClassifier(tenant=job.tenant, user=acting_user, mapping=job_columns(job))
    rejected = (r for r in classifier.run(job_sheet(job).rows) if r.status != RowStatus.VALID)
    return rejected_csv(job.headers, rejected)


# --- commit ------------------------------------------------------------------------------------------------------


class ProgressWriter:
    """Writes a job's progress on a database connection of its own, outside the import's transaction.

    The import runs in one long transaction, so nothing it writes is visible until it commits; the progress bar must
    move meanwhile. We open a plain DB-API connection with the driver and the parameters of Django's default
    connection (`get_connection_params()`, so tests, which rename the database, reach the test database), in
    autocommit. It is not registered in `django.db.connections`: no alias added at run time, no global state shared
    between tasks or threads, none of the connection signals that expect a registered alias, and it is closed when
    the job ends. It only runs a one-row UPDATE of `processed_rows`, which never waits on the import: the import's
    transaction writes the job's row only in its very last statement. Being no Django connection, it sends the
    tenant context itself, in the same round trip (crm/tenancy.py).
    """

    def __init__(self, job_id: int, *, every: int | None = None, table: str | None = None):
        self.job_id = job_id
        self.every = every or BATCH_SIZE
        # The job's table: the customers' ImportJob by default (the lead import passes its own).
        self.table = table or ImportJob._meta.db_table
        self._last = 0
        self._conn = None

    def __call__(self, processed: int, *, force: bool = False) -> None:
        if not force and processed - self._last < self.every:
            return
        self._last = processed
        if self._conn is None:
            default = connections["default"]
            self._conn = default.Database.connect(**default.get_connection_params())
            self._conn.autocommit = True
        with self._conn.cursor() as cursor:
            update = f"UPDATE {self.table} SET processed_rows = %s WHERE id = %s"  # noqa: S608 - a model's table
            cursor.execute(context_sql(current_tenant_id()) + update, [processed, self.job_id])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _try_lock(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [CUSTOMER_IMPORT_JOB, job_id % 2_147_483_647])
        return bool(cursor.fetchone()[0])


@dataclass
class _Context:
    job: ImportJob
    user: User
    owner: User | None
    pool: Pool
    now: dt.datetime
    # Importing by the assignment rules: the engine (its locks held until the import commits) and, per new owner,
    # what they were given (for one digest each).
    assigner: Any = None
    assigned: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)
    pools: dict[int, Pool] = field(default_factory=dict)
    # The batch being written: row number → (owner, pool, reason, note, decision).
    batch_decisions: dict[int, tuple] = field(default_factory=dict)

    def decide(self, row: RowResult):
        """The row's owner, home pool and ownership event (reason, note): the job's target, or the rules' choice."""
        if self.assigner is None:
            return self.owner, self.pool, OwnershipEvent.Reason.IMPORT, f"import #{self.job.pk}, row {row.number}", None
        from customers.services.assignment import CUSTOMER, customer_attrs

        decision = self.assigner.choose(CUSTOMER, customer_attrs(row.customer))
        if decision.owner is not None:
            return decision.owner, self.pool, OwnershipEvent.Reason.ASSIGN, decision.rule.name, decision
        if decision.pool_id not in self.pools:
            self.pools[decision.pool_id] = Pool.objects.get(tenant=self.job.tenant, pk=decision.pool_id)
        pool = self.pools[decision.pool_id]
        return None, pool, OwnershipEvent.Reason.IMPORT, f"import #{self.job.pk}, row {row.number}", decision

    def assigned_to(self, decision, customer: Customer) -> None:
        if decision is None:
            return
        self.assigner.log(decision, customer.pk)
        if decision.owner is not None:
            self.assigned.setdefault(decision.owner.pk, []).append((decision.kind, customer.name, decision.rule.name))


def _refuse(row: RowResult, exc: Exception) -> RowResult:
    if isinstance(exc, ValidationError):
        for key, messages in exc.message_dict.items() if hasattr(exc, "error_dict") else [("name", exc.messages)]:
            row.errors[key if key in TARGETS_BY_KEY else "name"] = " ".join(messages)
        row.status = RowStatus.INVALID
    else:
        row.errors[getattr(exc, "field", None) or "name"] = getattr(exc, "message", str(exc))
        row.status = RowStatus.DUPLICATE if isinstance(exc, DuplicateCustomer) else RowStatus.INVALID
    return row


def _bulk_create(ctx: _Context, rows: list[RowResult]) -> list[RowResult]:
    """The same writes as services.customer_create, for a batch: customers, primary contacts, identifiers (the
    unique index decides races), ownership events (reason IMPORT) and one audit event per customer. Returns the
    rows the model's own validation refuses (a safety net: the row checks above already cover its rules)."""
    tenant = ctx.job.tenant
    decisions = ctx.batch_decisions
    customers, refused, kept = [], [], []
    for row in rows:
        customer = Customer(tenant=tenant, created_by=ctx.user, created_at=ctx.now, **row.customer)
        customer.name_pinyin, customer.name_initials = pinyin_forms(customer.name)
        try:
            customer.full_clean(exclude=["tenant", "pool", "owner", "level", "created_by"])
        except ValidationError as exc:
            refused.append(_refuse(row, exc))
            continue
        owner, pool, reason, note, decision = decisions[row.number] = ctx.decide(row)
        customer.owner, customer.owned_since, customer.pool = owner, ctx.now if owner else None, pool
        customers.append(customer)
        kept.append(row)
    Customer.objects.bulk_create(customers)
    contacts, identifiers, events, audits = [], [], [], []
    for row, customer in zip(kept, customers, strict=True):
        owner, pool, reason, note, decision = decisions[row.number]
        if row.contact is not None:
            contacts.append(
                Contact(tenant=tenant, customer=customer, created_by=ctx.user, is_primary=True, **row.contact)
            )
        identifiers += [
            CustomerIdentifier(tenant=tenant, customer=customer, kind=i.kind, value=i.value) for i in row.identifiers
        ]
        events.append(
            OwnershipEvent(
                tenant=tenant,
                customer=customer,
                to_owner=owner,
                to_pool=None if owner else pool,
                reason=reason,
                actor=ctx.user,
                at=ctx.now,
                created_by=ctx.user,
                note=note,
            )
        )
        audits.append(
            AuditEvent(
                tenant=tenant,
                actor=ctx.user,
                action="customer.create",
                object_type=Customer._meta.label_lower,
                object_id=str(customer.pk),
                object_repr=customer.name[:255],
                details={
                    "owner": owner.pk if owner else None,
                    "import": ctx.job.pk,
                    "row": row.number,
                    **({"rule": decision.rule.pk if decision.rule else None} if decision else {}),
                },
                at=ctx.now,
            )
        )
    Contact.objects.bulk_create(contacts)
    CustomerIdentifier.objects.bulk_create(identifiers)
    OwnershipEvent.objects.bulk_create(events)
    AuditEvent.objects.bulk_create(audits)
    # Only now that every row of the batch is written: the rules' quota log and the owners' digests.
    for row, customer in zip(kept, customers, strict=True):
        ctx.assigned_to(decisions[row.number][4], customer)
    return refused


def _create_batch(ctx: _Context, rows: list[RowResult]) -> list[RowResult]:
    """Create a batch's valid rows; returns those refused meanwhile (a customer created by someone else since
    they were checked). The batch runs in a savepoint: if the identifier index refuses it, the batch is undone and
    redone row by row through services.customer_create, which names the holder."""
    if not rows:
        return []
    ctx.batch_decisions = decisions = {}
    try:
        with transaction.atomic():
            return _bulk_create(ctx, rows)
    except IntegrityError:
        logger.info("Import %s: a batch met a concurrent duplicate; retrying it row by row", ctx.job.pk)
    if ctx.assigner is not None:
        # The batch was undone: the rules' choices for it are taken back, then made again row by row.
        for *_rest, decision in decisions.values():
            ctx.assigner.release(decision)
    refused = []
    for row in rows:
        owner, pool, reason, note, decision = ctx.decide(row)
        try:
            customer = customer_create(
                acting_user=ctx.user,
                data=row.customer,
                contact=row.contact,
                owner=owner,
                to_pool=None if owner else pool,
                reason=reason,
                note=note,
            )
        except (DomainError, ValidationError) as exc:
            if decision is not None:
                ctx.assigner.release(decision)
            refused.append(_refuse(row, exc))
        else:
            ctx.assigned_to(decision, customer)
    return refused


def _commit_rows(ctx: _Context, progress: Callable[..., None] | None) -> tuple[int, list[RowResult], dict]:
    classifier = RowClassifier(tenant=ctx.job.tenant, user=ctx.user, mapping=job_columns(ctx.job))
    created, processed = 0, 0
    rejected: list[RowResult] = []
    counts = {RowStatus.VALID: 0, RowStatus.DUPLICATE: 0, RowStatus.INVALID: 0}
    for batch in _batched(job_sheet(ctx.job).rows, BATCH_SIZE):
        results = classifier.classify(batch)
        valid = [r for r in results if r.status == RowStatus.VALID]
        refused = _create_batch(ctx, valid)
        created += len(valid) - len(refused)
        rejected += [r for r in results if r.status != RowStatus.VALID]
        for row in results:
            counts[row.status] += 1
        processed += len(batch)
        if progress is not None:
            progress(processed)
    return created, sorted(rejected, key=lambda r: r.number), counts


def import_start(*, acting_user: User, job: ImportJob) -> ImportJob:
    """Commit a previewed import: small files at once, large ones as a Celery job (enqueued after commit)."""
    require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    import_target(job, acting_user)  # refuse now rather than in the worker
    inline = job.total_rows <= INLINE_MAX_ROWS
    new_status = ImportJob.Status.RUNNING if inline else ImportJob.Status.QUEUED
    with transaction.atomic():
        won = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
            status=new_status, processed_rows=0, error=""
        )
        if not won:
            raise DomainError(_("This import has already been started."))
        if not inline:
            from .import_jobs import run_import

            transaction.on_commit(lambda: run_import.delay(job.tenant_id, job.pk))
    if inline:
        import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def import_execute(*, job_id: int, progress: ProgressWriter | None = None) -> ImportJob | None:
    """Run a started import (status running) in ONE transaction: every row validated again, the valid ones
    created, the rejected ones written to a file to fix. On any error nothing is saved and the job says failed.

    Idempotent: a copy that finds the job done, failed or locked by another copy does nothing (the advisory lock is
    released with the transaction, also when a worker dies, so a redelivered task can run it again)."""
    job = ImportJob.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None:
        return None
    if job.created_by is None:
        _fail(job_id, _("The person who started this import no longer exists."))
        return None
    user = job.created_by
    written = ""  # the rejected-rows file, stored before the transaction commits: removed again if it fails
    try:
        with translation.override(user.effective_language):
            try:
                with transaction.atomic():
                    if not _try_lock(job_id):
                        return None
                    job.refresh_from_db()
                    if job.status != ImportJob.Status.RUNNING:
                        return None
                    written = _execute_locked(job, user, progress)
            except (DomainError, PermissionDenied) as exc:
                _fail(job_id, getattr(exc, "message", "") or str(exc) or _("You may no longer import customers."))
                _remove(written)
            except Exception as exc:
                logger.exception("Import %s failed", job_id)
                _fail(job_id, _("The import failed (%(error)s); nothing was saved.") % {"error": type(exc).__name__})
                _remove(written)
                raise
    finally:
        if progress is not None:
            progress.close()
    job.refresh_from_db()
    return job


def _execute_locked(job: ImportJob, user: User, progress: ProgressWriter | None) -> str:
    require_import(user)
    owner, pool = import_target(job, user)
    ctx = _Context(job=job, user=user, owner=owner, pool=pool or default_pool(job.tenant), now=timezone.now())
    if imports_by_rules(job):
        from customers.services.assignment import Assigner, rules_of

        ctx.assigner = Assigner(
            tenant=job.tenant, rules=[spec for _rule, spec in rules_of(job.tenant)], now=ctx.now, lock=True
        )
    created, rejected, counts = _commit_rows(ctx, progress)
    if ctx.assigner is not None:
        from customers.services.assignment import notify_new_owners

        ctx.assigner.flush()
        notify_new_owners(ctx.assigned, key=f"import-assigned:{job.pk}")
    rejected_name = ""
    if rejected:
        job.rejected_file.save(f"{uuid.uuid4().hex}.csv", ContentFile(rejected_csv(job.headers, rejected)), save=False)
        rejected_name = job.rejected_file.name
    audit(
        tenant=job.tenant,
        actor=user,
        action="customer.import",
        obj=job,
        details={
            "file": job.original_name,
            "rows": job.total_rows,
            "created": created,
            "rejected": len(rejected),
            "owner": owner.pk if owner else None,
            "pool": None if owner else ctx.pool.pk,
            "by_rules": ctx.assigner is not None,
            "assigned": sum(len(items) for items in ctx.assigned.values()),
        },
    )
    # This transaction writes the job's row only now, at its very end, so the progress connection's UPDATEs never
    # wait on a lock held by the import.
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        processed_rows=job.total_rows,
        created_count=created,
        rejected_count=len(rejected),
        rejected_file=rejected_name,
        summary={**(job.summary or {}), "committed": counts, "created": created},
        error="",
        finished_at=now,
        updated_at=now,
    )
    return rejected_name


def _remove(name: str) -> None:
    if name:
        ImportJob._meta.get_field("rejected_file").storage.delete(name)


def _fail(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.FAILED, error=message[:2000], finished_at=timezone.now(), updated_at=timezone.now()
    )
