"""Lead import: the customers' import flow (upload → mapping → preview → commit) for leads, on customers.importer's
machinery — reading CSV/XLSX as Chinese offices export them (`read_sheet`, `inspect_upload`, `job_sheet`), header
recognition (`guess_mapping` with the targets below), the rejected-rows CSV (`rejected_csv`) and the progress of
large files written outside the import's transaction (`ProgressWriter` on this job's table).

What differs from customers: a duplicate row is not rejected. A row whose phone, email or company matches an
existing lead, customer or an earlier row of the file is imported, flagged and linked to what it matches, and the
holder is notified (sales.leads). Only invalid rows are rejected (a name, a phone, an email, a length): they go to
the rejected-rows file to fix and upload again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import assignable_users
from crm.errors import DomainError
from crm.locks import LEAD_IMPORT_JOB
from crm.models import AuditEvent, Role, User
from crm.services.audit import audit
from customers import importer as base
from customers.models import Customer, CustomerIdentifier
from customers.normalize import normalize_company_name, normalize_email
from customers.services.contact import clean_phone
from customers.services.identifier import describe_holder
from sales.access import is_lead_manager
from sales.services.lead import _email_validator
from sales.services.lead_duplicate import (
    KIND_LABELS_LAZY,
    DuplicateMatch,
    describe_lead_holder,
    lead_identifiers,
    notify_duplicate_holders,
)
from sales.services.lead_scoring import score_leads

from .models import Lead, LeadImport, LeadOrigin

logger = logging.getLogger(__name__)

# Read through base.* at call time, so tests (and settings) may lower them.
TARGETS: tuple[base.Target, ...] = (
    base.Target(
        "name",
        gettext_lazy("Name"),
        ("姓名", "联系人", "联系人姓名", "客户姓名", "name", "full name", "contact", "contact name"),
        100,
    ),
    base.Target(
        "company",
        gettext_lazy("Company"),
        ("公司", "公司名称", "企业名称", "单位名称", "单位", "客户名称", "company", "company name", "organization"),
        200,
    ),
    base.Target("title", gettext_lazy("Job title"), ("职务", "职位", "title", "job title", "position"), 100),
    base.Target(
        "phone",
        gettext_lazy("Phone"),
        (
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "座机",
            "phone",
            "mobile",
            "tel",
            "telephone",
            "mobile phone",
        ),
        40,
    ),
    base.Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "邮件", "email", "e-mail", "mail"), 254),
    base.Target("wechat", gettext_lazy("WeChat ID"), ("微信", "微信号", "wechat", "wechat id", "weixin"), 64),
    base.Target("region", gettext_lazy("Region"), ("地区", "区域", "省份", "城市", "region", "area", "city"), 50),
    base.Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry"), 50),
    base.Target("source", gettext_lazy("Source"), ("来源", "线索来源", "渠道", "source", "lead source", "channel"), 50),
    base.Target("campaign", gettext_lazy("Campaign"), ("活动", "市场活动", "campaign", "utm_campaign"), 100),
    base.Target(
        "message",
        gettext_lazy("Notes"),
        ("备注", "留言", "需求", "说明", "notes", "note", "message", "remarks", "comments"),
        5000,
    ),
)
TARGETS_BY_KEY = {t.key: t for t in TARGETS}


class RowStatus:
    VALID = "valid"
    # Imported too, flagged as a duplicate and linked to what it matches.
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclass
class LeadRow:
    number: int
    cells: list[str]
    values: dict[str, str]
    status: str = RowStatus.VALID
    errors: dict[str, str] = field(default_factory=dict)
    lead: dict[str, Any] = field(default_factory=dict)
    identifiers: list = field(default_factory=list)
    match: DuplicateMatch | None = None
    # The earlier row of the file this one repeats (linked to the lead that row becomes).
    same_as_row: int | None = None
    note: str = ""

    @property
    def reason(self) -> str:
        return " ".join(self.errors.values())


class LeadRowClassifier:
    """Classifies the rows of one file in order: invalid (rejected), duplicate (imported, flagged) or valid."""

    def __init__(self, *, tenant, user: User, mapping: dict[str, int]):
        self.tenant, self.user, self.mapping = tenant, user, mapping
        self.seen: dict[tuple[str, str], int] = {}
        self._notes: dict[tuple[str, str, int], str] = {}

    def clean(self, number: int, cells: list[str]) -> LeadRow:
        """One row, no database: the per-cell rules (the same as sales.leads.clean_lead_data, every cell at once)."""
        values = {key: (cells[index] if index < len(cells) else "") for key, index in self.mapping.items()}
        row = LeadRow(number=number, cells=cells, values=values)
        errors = row.errors
        for key, value in values.items():
            limit = TARGETS_BY_KEY[key].max_length
            if limit and len(value) > limit:
                errors[key] = _("Too long: at most %(max)d characters.") % {"max": limit}
        name = values.get("name", "") or values.get("company", "")
        if not name:
            errors.setdefault("name", _("The name is missing."))
        phone = ""
        if values.get("phone") and "phone" not in errors:
            try:
                phone = clean_phone(values["phone"], self.tenant, "phone")
            except DomainError as exc:
                errors["phone"] = exc.message
        email = ""
        if values.get("email") and "email" not in errors:
            email = normalize_email(values["email"])
            try:
                _email_validator(email)
            except ValidationError:
                errors["email"] = _("“%(value)s” is not a valid email address.") % {"value": values["email"]}
        if not errors and not (phone or email or values.get("wechat")):
            errors["phone"] = _("Give a phone number, an email or a WeChat ID, so the lead can be reached.")
        if errors:
            row.status = RowStatus.INVALID
            return row
        row.lead = {
            "name": name[:100],
            "company": values.get("company", ""),
            "title": values.get("title", ""),
            "phone": phone,
            "email": email,
            "wechat": values.get("wechat", ""),
            "region": values.get("region", ""),
            "industry": values.get("industry", ""),
            "source": values.get("source", ""),
            "campaign": values.get("campaign", ""),
            "message": values.get("message", ""),
        }
        row.identifiers = lead_identifiers(row.lead)
        return row

    def _customers_taken(self, rows: list[LeadRow]) -> dict[tuple[str, str], Customer]:
        query = Q()
        for row in rows:
            for ident in row.identifiers:
                query |= Q(kind=ident.kind, value=ident.value)
        if not query:
            return {}
        taken = (
            CustomerIdentifier.objects.for_tenant(self.tenant)
            .filter(query)
            .select_related("customer__owner", "customer__pool")
        )
        return {(t.kind, t.value): t.customer for t in taken}

    def _leads_taken(self, rows: list[LeadRow]) -> dict[tuple[str, str], Lead]:
        by_kind: dict[str, set[str]] = {}
        for row in rows:
            for ident in row.identifiers:
                by_kind.setdefault(ident.kind, set()).add(ident.value)
        if not by_kind:
            return {}
        columns = {"phone": "phone", "email": "email", "company": "company_key"}
        query = Q()
        for kind, values in by_kind.items():
            query |= Q(**{f"{columns[kind]}__in": values})
        found: dict[tuple[str, str], Lead] = {}
        leads = Lead.objects.filter(tenant=self.tenant).filter(query).select_related("owner")
        for lead in leads.order_by("is_duplicate", "created_at", "pk"):
            for kind, column in columns.items():
                value = getattr(lead, column)
                if value and value in by_kind.get(kind, ()):
                    found.setdefault((kind, value), lead)
        return found

    def _note(self, kind: str, holder, what: str) -> str:
        key = (kind, type(holder).__name__, holder.pk)
        if key not in self._notes:
            if isinstance(holder, Customer):
                described = describe_holder(holder, self.user)
            else:
                described = describe_lead_holder(holder, self.user)
            self._notes[key] = _("Its %(what)s matches %(holder)s.") % {"what": what, "holder": described}
        return self._notes[key]

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[LeadRow]:
        """Classify a batch of consecutive rows (in file order, after every earlier batch): two queries."""
        results = [self.clean(number, cells) for number, cells in batch]
        valid = [r for r in results if r.status == RowStatus.VALID]
        customers = self._customers_taken(valid)
        leads = self._leads_taken(valid)
        for row in valid:
            keys = [(i.kind, i.value) for i in row.identifiers]
            customer_key = next((k for k in keys if k in customers), None)
            lead_key = next((k for k in keys if k in leads), None)
            if customer_key or lead_key:
                kind = (customer_key or lead_key)[0]
                row.match = DuplicateMatch(
                    kind=kind,
                    customer=customers[customer_key] if customer_key else None,
                    lead=leads[lead_key] if lead_key else None,
                )
                what = str(KIND_LABELS_LAZY[kind])
                holder = row.match.customer or row.match.lead
                row.note = self._note(kind, holder, what)
            else:
                earlier = next((self.seen[k] for k in keys if k in self.seen), None)
                if earlier is not None:
                    kind = next(k for k in keys if k in self.seen)[0]
                    row.same_as_row = earlier
                    row.match = DuplicateMatch(kind=kind)
                    row.note = _("Its %(what)s matches row %(row)d of this file.") % {
                        "what": KIND_LABELS_LAZY[kind],
                        "row": earlier,
                    }
            if row.match is not None:
                row.status = RowStatus.DUPLICATE
            for key in keys:
                self.seen.setdefault(key, row.number)
        return results

    def run(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[LeadRow]:
        for batch in _batched(rows, base.BATCH_SIZE):
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


# --- permissions, target, access -----------------------------------------------------------------------------


def can_import(user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.tenant_id
        and user.has_any_role(Role.ADMIN, Role.MANAGER, Role.REP)
    )


def require_import(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied(_("Only sales reps, managers and administrators import leads."))


def can_access_job(user: User, job: LeadImport) -> bool:
    """The person who uploaded it, and the tenant's administrators."""
    return job.tenant_id == user.tenant_id and (job.created_by_id == user.pk or user.has_any_role(Role.ADMIN))


def import_owner(job: LeadImport, user: User) -> User | None:
    """The owner the job imports for (None: unassigned), re-checked against what `user` may choose now."""
    owner_id = (job.mapping or {}).get("owner")
    if owner_id is None:
        if not is_lead_manager(user):
            raise PermissionDenied(_("Only managers and administrators import leads for nobody yet."))
        return None
    owner = assignable_users(user).filter(pk=owner_id).first()
    if owner is None:
        raise DomainError(_("The chosen owner can no longer receive leads from you; upload the file again."))
    return owner


def job_columns(job: LeadImport) -> dict[str, int]:
    return {k: int(v) for k, v in ((job.mapping or {}).get("columns") or {}).items() if k in TARGETS_BY_KEY}


# --- upload, mapping, check, preview -------------------------------------------------------------------------


def lead_import_upload(*, acting_user: User, uploaded, owner: User | None) -> LeadImport:
    """Check the file and keep it (where the worker reads it); `owner` None = unassigned (managers, admins)."""
    require_import(acting_user)
    if owner is None and not is_lead_manager(acting_user):
        owner = acting_user
    if owner is not None and not assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("You cannot import leads for this colleague."), field="owner")
    data, sheet, total = base.inspect_upload(uploaded)
    job = LeadImport(
        tenant=acting_user.tenant,
        created_by=acting_user,
        original_name=(uploaded.name or "")[:255],
        encoding=sheet.encoding,
        headers=sheet.headers,
        mapping={"columns": base.guess_mapping(sheet.headers, TARGETS), "owner": owner.pk if owner else None},
        total_rows=total,
    )
    suffix = ".xlsx" if sheet.encoding == "xlsx" else ".csv"
    with transaction.atomic():
        job.file.save(f"{uuid.uuid4().hex}{suffix}", ContentFile(data), save=False)
        job.save()
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="lead.import.upload",
            obj=job,
            details={"file": job.original_name, "rows": total, "owner": owner.pk if owner else None},
        )
    return job


def is_checking(job: LeadImport) -> bool:
    return job.status == LeadImport.Status.UPLOADED and bool((job.summary or {}).get("checking"))


def lead_import_map(*, acting_user: User, job: LeadImport, columns: dict[str, int]) -> LeadImport:
    """Save the column mapping and check every row (at once for small files, in a job for large ones)."""
    require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    if "name" not in columns and "company" not in columns:
        raise DomainError(_("Choose the column that holds the name (or the company)."), field="name")
    if any(k not in TARGETS_BY_KEY or not 0 <= v < len(job.headers) for k, v in columns.items()):
        raise DomainError(_("Choose columns of the file."))
    token = uuid.uuid4().hex
    with transaction.atomic():
        job = LeadImport.objects.select_for_update().get(pk=job.pk)
        if job.status not in (LeadImport.Status.UPLOADED, LeadImport.Status.PREVIEWED):
            raise DomainError(_("This import has already been started."))
        job.mapping = {**(job.mapping or {}), "columns": columns}
        job.summary = {"checking": token}
        job.status = LeadImport.Status.UPLOADED
        job.processed_rows = 0
        job.save(update_fields=["mapping", "summary", "status", "processed_rows", "updated_at"])
        if job.total_rows > base.INLINE_MAX_ROWS:
            from .tasks import check_lead_import

            transaction.on_commit(lambda: check_lead_import.delay(job.tenant_id, job.pk, token))
    if job.total_rows <= base.INLINE_MAX_ROWS:
        lead_import_check(job_id=job.pk, token=token)
        job.refresh_from_db()
    return job


def progress_writer(job_id: int) -> base.ProgressWriter:
    return base.ProgressWriter(job_id, table=LeadImport._meta.db_table)


def lead_import_check(*, job_id: int, token: str, progress: base.ProgressWriter | None = None) -> LeadImport | None:
    """Classify every row of a mapped job and keep the counts. Idempotent: nothing happens if the mapping changed
    since (another token) or the job moved on."""
    job = LeadImport.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None or job.status != LeadImport.Status.UPLOADED or (job.summary or {}).get("checking") != token:
        return None
    user = job.created_by
    pending = LeadImport.objects.filter(pk=job_id, status=LeadImport.Status.UPLOADED, summary__checking=token)
    counts = {RowStatus.VALID: 0, RowStatus.DUPLICATE: 0, RowStatus.INVALID: 0}
    total = 0
    try:
        with translation.override(user.effective_language if user else None):
            classifier = LeadRowClassifier(tenant=job.tenant, user=user, mapping=job_columns(job))
            for row in classifier.run(base.job_sheet(job).rows):
                total += 1
                counts[row.status] += 1
                if progress is not None:
                    progress(total)
    except DomainError as exc:
        pending.update(status=LeadImport.Status.FAILED, error=exc.message[:2000], finished_at=timezone.now())
        return None
    except Exception as exc:
        logger.exception("Check of lead import %s failed", job_id)
        pending.update(
            status=LeadImport.Status.FAILED,
            error=_("The check failed (%(error)s).") % {"error": type(exc).__name__},
            finished_at=timezone.now(),
        )
        raise
    finally:
        if progress is not None:
            progress.close()
    pending.update(
        status=LeadImport.Status.PREVIEWED,
        summary=counts,
        total_rows=total,
        processed_rows=0,
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def preview_rows(*, acting_user: User, job: LeadImport, problems_only: bool = False) -> list[LeadRow]:
    """The first rows (or the first rejected ones) with their classification."""
    classifier = LeadRowClassifier(tenant=job.tenant, user=acting_user, mapping=job_columns(job))
    shown: list[LeadRow] = []
    for row in classifier.run(base.job_sheet(job).rows):
        if problems_only and row.status != RowStatus.INVALID:
            continue
        shown.append(row)
        if len(shown) >= base.PREVIEW_ROWS:
            break
    return shown


def preview_rejected_csv(*, acting_user: User, job: LeadImport) -> bytes:
    classifier = LeadRowClassifier(tenant=job.tenant, user=acting_user, mapping=job_columns(job))
    rejected = (r for r in classifier.run(base.job_sheet(job).rows) if r.status == RowStatus.INVALID)
    return base.rejected_csv(job.headers, rejected)


# --- commit --------------------------------------------------------------------------------------------------


def lead_import_start(*, acting_user: User, job: LeadImport) -> LeadImport:
    """Commit a previewed import: small files at once, large ones as a Celery job (enqueued after commit)."""
    require_import(acting_user)
    if not can_access_job(acting_user, job):
        raise PermissionDenied
    import_owner(job, acting_user)
    inline = job.total_rows <= base.INLINE_MAX_ROWS
    with transaction.atomic():
        won = LeadImport.objects.filter(pk=job.pk, status=LeadImport.Status.PREVIEWED).update(
            status=LeadImport.Status.RUNNING if inline else LeadImport.Status.QUEUED, processed_rows=0, error=""
        )
        if not won:
            raise DomainError(_("This import has already been started."))
        if not inline:
            from .tasks import run_lead_import

            transaction.on_commit(lambda: run_lead_import.delay(job.tenant_id, job.pk))
    if inline:
        lead_import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def _try_lock(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LEAD_IMPORT_JOB, job_id % 2_147_483_647])
        return bool(cursor.fetchone()[0])


def lead_import_execute(*, job_id: int, progress: base.ProgressWriter | None = None) -> LeadImport | None:
    """Run a started import in ONE transaction: every row checked again, the valid and duplicate ones created
    (duplicates flagged and linked), the invalid ones written to a file to fix. On any error nothing is saved and
    the job says failed. Idempotent: a copy that finds the job done, failed or locked by another does nothing."""
    job = LeadImport.objects.select_related("tenant", "created_by").filter(pk=job_id).first()
    if job is None:
        return None
    if job.created_by is None:
        _fail(job_id, _("The person who started this import no longer exists."))
        return None
    user = job.created_by
    written = ""
    try:
        with translation.override(user.effective_language):
            try:
                with transaction.atomic():
                    if not _try_lock(job_id):
                        return None
                    job.refresh_from_db()
                    if job.status != LeadImport.Status.RUNNING:
                        return None
                    written = _execute_locked(job, user, progress)
            except (DomainError, PermissionDenied) as exc:
                _fail(job_id, getattr(exc, "message", "") or str(exc) or _("You may no longer import leads."))
                _remove(written)
            except Exception as exc:
                logger.exception("Lead import %s failed", job_id)
                _fail(job_id, _("The import failed (%(error)s); nothing was saved.") % {"error": type(exc).__name__})
                _remove(written)
                raise
    finally:
        if progress is not None:
            progress.close()
    job.refresh_from_db()
    return job


def _create_batch(job: LeadImport, user: User, owner: User | None, rows: list[LeadRow], created: dict[int, int]):
    """Bulk-create a batch's importable rows; fill `created` (row number → lead id) for later in-file links."""
    tenant = job.tenant
    now = timezone.now()
    new = []
    for row in rows:
        lead = Lead(
            tenant=tenant,
            created_by=user,
            created_at=now,
            owner=owner,
            origin=LeadOrigin.IMPORT,
            import_job=job,
            company_key=normalize_company_name(row.lead["company"]),
            **row.lead,
        )
        match = row.match
        if match is not None:
            lead.is_duplicate, lead.duplicate_kind = True, match.kind
            lead.duplicate_of_customer = match.customer
            lead.duplicate_of_lead = match.lead
            if row.same_as_row is not None:
                lead.duplicate_of_lead_id = created.get(row.same_as_row)
        new.append(lead)
    Lead.objects.bulk_create(new)
    relink = []
    for row, lead in zip(rows, new, strict=True):
        created[row.number] = lead.pk
        if row.same_as_row is not None and lead.duplicate_of_lead_id is None:
            lead.duplicate_of_lead_id = created.get(row.same_as_row)
            relink.append(lead)
    if relink:
        Lead.objects.bulk_update(relink, ["duplicate_of_lead"])
    score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk for lead in new])
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                tenant=tenant,
                actor=user,
                action="lead.create",
                object_type=Lead._meta.label_lower,
                object_id=str(lead.pk),
                object_repr=str(lead)[:255],
                details={
                    "origin": LeadOrigin.IMPORT,
                    "import": job.pk,
                    "row": row.number,
                    "owner": owner.pk if owner else None,
                    "duplicate_of_lead": lead.duplicate_of_lead_id,
                    "duplicate_of_customer": lead.duplicate_of_customer_id,
                },
                at=now,
            )
            for row, lead in zip(rows, new, strict=True)
        ]
    )
    for row, lead in zip(rows, new, strict=True):
        # The holders of existing records hear of it; a repeat within the file is the importer's own business.
        if row.match is not None and (row.match.customer is not None or row.match.lead is not None):
            notify_duplicate_holders(lead)


def _commit_rows(job: LeadImport, user: User, owner: User | None, progress: Callable[..., None] | None):
    classifier = LeadRowClassifier(tenant=job.tenant, user=user, mapping=job_columns(job))
    created: dict[int, int] = {}
    rejected: list[LeadRow] = []
    counts = {RowStatus.VALID: 0, RowStatus.DUPLICATE: 0, RowStatus.INVALID: 0}
    processed = 0
    for batch in _batched(base.job_sheet(job).rows, base.BATCH_SIZE):
        results = classifier.classify(batch)
        importable = [r for r in results if r.status != RowStatus.INVALID]
        if importable:
            _create_batch(job, user, owner, importable, created)
        rejected += [r for r in results if r.status == RowStatus.INVALID]
        for row in results:
            counts[row.status] += 1
        processed += len(batch)
        if progress is not None:
            progress(processed)
    return counts, rejected


def _execute_locked(job: LeadImport, user: User, progress) -> str:
    require_import(user)
    owner = import_owner(job, user)
    counts, rejected = _commit_rows(job, user, owner, progress)
    rejected_name = ""
    if rejected:
        job.rejected_file.save(
            f"{uuid.uuid4().hex}.csv", ContentFile(base.rejected_csv(job.headers, rejected)), save=False
        )
        rejected_name = job.rejected_file.name
    created = counts[RowStatus.VALID] + counts[RowStatus.DUPLICATE]
    audit(
        tenant=job.tenant,
        actor=user,
        action="lead.import",
        obj=job,
        details={
            "file": job.original_name,
            "rows": job.total_rows,
            "created": created,
            "duplicates": counts[RowStatus.DUPLICATE],
            "rejected": len(rejected),
            "owner": owner.pk if owner else None,
        },
    )
    now = timezone.now()
    LeadImport.objects.filter(pk=job.pk).update(
        status=LeadImport.Status.DONE,
        processed_rows=job.total_rows,
        created_count=created,
        duplicate_count=counts[RowStatus.DUPLICATE],
        rejected_count=len(rejected),
        rejected_file=rejected_name,
        summary={**(job.summary or {}), "committed": counts},
        error="",
        finished_at=now,
        updated_at=now,
    )
    return rejected_name


def _remove(name: str) -> None:
    if name:
        LeadImport._meta.get_field("rejected_file").storage.delete(name)


def _fail(job_id: int, message: str) -> None:
    LeadImport.objects.filter(pk=job_id, status=LeadImport.Status.RUNNING).update(
        status=LeadImport.Status.FAILED, error=message[:2000], finished_at=timezone.now(), updated_at=timezone.now()
    )
