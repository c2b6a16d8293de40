"""What an import kind is: the part of an import that differs from one kind of record to another.

The machine (`crm.imports.services`) reads the file, batches its rows, keeps the counts, the preview and the
rejected rows, runs the commit in one transaction and writes its progress. A kind supplies only:

- its columns (`targets`) and what must be mapped (`check_mapping`); with `custom_kind`, the company's custom
  fields of that kind in use are columns too (`custom_<key>`, checked by type per cell by `custom_cells`, which
  the kind calls in its row rules);
- who may import (`can_import`) and for whom (`destinations`, `options_for`, `destination_label`, and
  `check_options`, re-checked when the import starts and again inside its transaction);
- `classify`: a batch of rows → valid, duplicate or invalid, with a reason per cell, against existing records and
  against the earlier rows of the file (the instance lives for one pass over the file, so it remembers them);
- `create`: write a batch of importable rows, returning those refused meanwhile; `finish` after the last batch;
- its audit action, its list page, its wording, and optionally templates that override blocks of the shared ones
  (`template_dir`).

A kind is registered from its app's `AppConfig.ready()` with `crm.registry.registry.add_import_kind(Kind)`; the
upload page is the kind's own URL (`ImportUploadView.as_view(kind=key)` in the app's urls), every later page is
the shared one of the job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.access import SALES_ROLES
from crm.api.models import CustomField
from crm.api.services.custom_field import FORM_PREFIX, TEXT_MAX, custom_fields_for, custom_value_clean
from crm.errors import DomainError
from crm.imports.reader import Target, parse_date
from crm.models import User

if TYPE_CHECKING:
    from crm.imports.models import ImportJob


class RowStatus:
    VALID = "valid"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    ALL = (VALID, DUPLICATE, INVALID)


@dataclass
class Row:
    """One data row of the file and what the kind made of it. Kinds subclass it for what they create."""

    number: int
    cells: list[str]
    # Mapped target key → the cell's text.
    values: dict[str, str]
    status: str = RowStatus.VALID
    # Target key → why that cell refuses the row (the preview shows it in the cell, the rejected file in "reason").
    errors: dict[str, str] = field(default_factory=dict)
    # Said of a row imported although it repeats an existing record (kinds that keep duplicates).
    note: str = ""

    @property
    def reason(self) -> str:
        return " ".join(self.errors.values())

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def refuse(self, key: str, message: str, status: str = RowStatus.INVALID) -> None:
        self.errors[key] = message
        self.status = status


class ImportKind:
    """Base of an import kind. Class attributes and classmethods describe the kind; an instance is one pass over
    one job's rows (the check, or the commit) on behalf of one user."""

    # Templates read the kind's attributes; they must not try to instantiate it.
    do_not_call_in_templates: ClassVar[bool] = True

    key: ClassVar[str]
    # The records, as the breadcrumb names them ("Customers"), and the pages' title ("Import customers").
    label: ClassVar[Any]
    title: ClassVar[Any]
    # The upload page's first sentence: what one row of the file is.
    description: ClassVar[Any]
    # The mapping page's advice: which columns must be chosen.
    mapping_hint: ClassVar[Any] = gettext_lazy(
        "Recognised headers are chosen for you; check them and choose the columns marked * at least."
    )
    targets: ClassVar[tuple[Target, ...]]
    # The kind of record whose custom fields in use are columns too ("customer"); empty: none.
    custom_kind: ClassVar[str] = ""
    audit_action: ClassVar[str]
    list_url_name: ClassVar[str]
    upload_url_name: ClassVar[str]
    # Where the kind is offered (a list page's import menu reads registry.import_kinds_for(user, menu=…)).
    menu: ClassVar[str] = ""
    order: ClassVar[int] = 100
    # A folder of templates overriding blocks of the shared ones (imports/upload.html, preview.html, _rows.html…).
    template_dir: ClassVar[str] = ""
    # Rows of these statuses are created at commit; the others are rejected (to the rejected-rows file).
    importable: ClassVar[tuple[str, ...]] = (RowStatus.VALID,)
    # Only sales roles import: records imported are customers and leads, which a service agent never takes.
    roles: ClassVar[tuple[str, ...]] = SALES_ROLES
    refusal: ClassVar[Any] = gettext_lazy("You may not import these records.")
    # "%(created)d … imported, %(rejected)d rows rejected." (also given %(duplicates)d), plural by "created".
    result_text: ClassVar[Any] = ngettext_lazy(
        "%(created)d row imported, %(rejected)d rows rejected.",
        "%(created)d rows imported, %(rejected)d rows rejected.",
        "created",
    )

    # --- the kind ------------------------------------------------------------------------------------------------

    @classmethod
    def can_import(cls, user: User) -> bool:
        return bool(user.is_authenticated and user.is_active and user.tenant_id and user.has_any_role(*cls.roles))

    @classmethod
    def visible(cls, user: User) -> bool:
        """The registry's predicate: the kind is offered to whoever may import it."""
        return cls.can_import(user)

    @classmethod
    def require_import(cls, user: User) -> None:
        if not cls.can_import(user):
            raise PermissionDenied(cls.refusal)

    @classmethod
    def keeps_duplicates(cls) -> bool:
        """Rows repeating an existing record are imported (flagged) rather than rejected."""
        return RowStatus.DUPLICATE in cls.importable

    @classmethod
    def custom_targets(cls, fields: list[CustomField]) -> tuple[Target, ...]:
        """One column per custom field, `custom_<key>`, recognised by the field's label or key."""
        return tuple(
            Target(FORM_PREFIX + f.key, f.label, (f.label, f.key), TEXT_MAX, required=f.required) for f in fields
        )

    @classmethod
    def targets_for(cls, tenant_id: int | None) -> tuple[Target, ...]:
        """The kind's columns for one company: its own, then its custom fields in use, in their order."""
        if not cls.custom_kind:
            return cls.targets
        return cls.targets + cls.custom_targets(custom_fields_for(tenant_id, cls.custom_kind))

    @classmethod
    def target(cls, key: str, tenant_id: int | None = None) -> Target | None:
        """The column `key` (a custom field's only when `tenant_id` is given)."""
        targets = cls.targets if tenant_id is None else cls.targets_for(tenant_id)
        return next((t for t in targets if t.key == key), None)

    @classmethod
    def check_custom_mapping(cls, columns: dict[str, int], tenant_id: int | None) -> None:
        """Raise DomainError when a required custom field has no column (each row would be refused for it)."""
        for target in cls.targets_for(tenant_id):
            if target.required and target.key.startswith(FORM_PREFIX) and target.key not in columns:
                raise DomainError(
                    _("Choose the column that holds “%(field)s”.") % {"field": target.label}, field=target.key
                )

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        """Raise DomainError (with the field it is about) when the mapping lacks what the kind needs."""
        for target in cls.targets:
            if target.required and target.key not in columns:
                raise DomainError(
                    _("Choose the column that holds “%(field)s”.") % {"field": target.label}, field=target.key
                )

    @classmethod
    def destinations(cls, user: User) -> list[tuple[str, Any]]:
        """The choices of "Import for" on the upload form (none: the form has no such field)."""
        return []

    @classmethod
    def options_for(cls, user: User, destination: str | None) -> dict[str, Any]:
        """The job's options for the chosen destination (None: the field was not shown); raise DomainError with
        field "target" to refuse it."""
        return {}

    @classmethod
    def destination_label(cls, job: ImportJob) -> str:
        """Whom or where the job imports for, for the pages ("A 销售一", "the public pool"); empty: not said."""
        return ""

    @classmethod
    def result_message(cls, job: ImportJob) -> str:
        return cls.result_text % {
            "created": job.created_count,
            "duplicates": job.duplicate_count,
            "rejected": job.rejected_count,
        }

    # --- one pass over a job's rows ------------------------------------------------------------------------------

    def __init__(self, *, job: ImportJob, user: User):
        self.job = job
        self.user = user
        self.tenant = job.tenant
        self.custom_fields = (
            {FORM_PREFIX + f.key: f for f in custom_fields_for(self.tenant.pk, self.custom_kind)}
            if self.custom_kind
            else {}
        )
        self.all_targets = {t.key: t for t in (*self.targets, *self.custom_targets(list(self.custom_fields.values())))}
        self.columns = {k: int(v) for k, v in (job.mapping or {}).items() if k in self.all_targets}

    def custom_cells(self, row: Row) -> dict[str, Any]:
        """The row's custom values by field key, each cell checked by its field's type (a multi-choice cell lists
        its values split by commas or 、, a date is read as the other dates of a file); a bad or missing required value is set on `row.errors` under its
        column."""
        values: dict[str, Any] = {}
        for key, custom_field in self.custom_fields.items():
            text = row.get(key).strip()
            if key in row.errors:
                continue
            if not text:
                if custom_field.required:
                    row.errors[key] = f"{custom_field.label}: {_('This field is required.')}"
                continue
            cell: Any = text
            if custom_field.type == CustomField.Type.MULTI:
                cell = [part.strip() for part in re.split(r"[,，、;；]", text) if part.strip()]
            elif custom_field.type == CustomField.Type.DATE:
                cell = parse_date(text) or text  # as spreadsheets write dates (2026/3/2, 2026年3月2日…)
            try:
                values[custom_field.key] = custom_value_clean(custom_field, cell)
            except DomainError as exc:
                row.errors[key] = exc.message
        return values

    def row(self, number: int, cells: list[str], row_class: type[Row] = Row, **extra: Any) -> Row:
        """The row's mapped values, with a length error for every cell longer than its target allows."""
        values = {key: (cells[index] if index < len(cells) else "") for key, index in self.columns.items()}
        row = row_class(number=number, cells=cells, values=values, **extra)
        for key, value in values.items():
            limit = self.all_targets[key].max_length
            if limit and len(value) > limit:
                row.errors[key] = _("Too long: at most %(max)d characters.") % {"max": limit}
        if row.errors:
            row.status = RowStatus.INVALID
        return row

    def check_options(self) -> None:
        """Re-check the job's options against what `self.user` may do now; raise DomainError or PermissionDenied."""

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[Row]:
        """Judge a batch of consecutive rows (after every earlier batch of the same pass), in file order."""
        raise NotImplementedError

    def notices(self) -> list[str]:
        """After the check's last batch: sentences the preview shows above its rows (say, why some rows will be
        refused that no single cell explains)."""
        return []

    def prepare(self) -> None:
        """Before the first batch of the commit, inside its transaction (after check_options)."""

    def create(self, rows: list[Row]) -> list[Row]:
        """Write a batch of importable rows, inside the commit's transaction. Returns the rows refused meanwhile
        (their status and errors set), which go to the rejected-rows file."""
        raise NotImplementedError

    def finish(self) -> dict[str, Any]:
        """After the last batch, inside the transaction: the kind's details for the import's audit event."""
        return {}
