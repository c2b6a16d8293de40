"""The lead import kind: one lead per row.

What differs from customers: a duplicate row is not rejected. A row whose phone, email or company matches an
existing lead, customer or an earlier row of the file is imported, flagged and linked to what it matches, and the
holder is notified (sales.leads). Only invalid rows are rejected (a name, a phone, an email, a length, no way to
reach the lead): they go to the rejected-rows file to fix and upload again.

Whom for: a rep imports leads for themself; a manager or an administrator for a colleague they may give leads to,
or for nobody yet (handed out later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.access import sales_assignable_users
from crm.errors import DomainError
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.models import ImportJob
from crm.imports.reader import Target
from crm.models import AuditEvent, User
from customers.models import Customer, CustomerIdentifier, Tag
from customers.normalize import normalize_company_name, normalize_email
from customers.selectors.choice_list import ChoiceLookup
from customers.services.contact import clean_phone
from customers.services.identifier import describe_holder
from sales.access import is_lead_manager
from sales.models import Lead, LeadOrigin, LeadPool, LeadTag, Product
from sales.selectors.lead_pool import pool_for_new_lead
from sales.services.lead_duplicate import (
    KIND_LABELS_LAZY,
    DuplicateMatch,
    describe_lead_holder,
    lead_identifiers,
    notify_duplicate_holders,
)
from sales.services.lead_scoring import score_leads

UNASSIGNED = "none"
TAG_SEPARATORS = re.compile(r"[,;，；、|]")
# A destination "pool:<id>": the leads wait, unowned, in that lead pool.
POOL_PREFIX = "pool:"

TARGETS: tuple[Target, ...] = (
    Target(
        "name",
        gettext_lazy("Name"),
        ("姓名", "联系人", "联系人姓名", "客户姓名", "name", "full name", "contact", "contact name"),
        100,
    ),
    Target(
        "company",
        gettext_lazy("Company"),
        ("公司", "公司名称", "企业名称", "单位名称", "单位", "客户名称", "company", "company name", "organization"),
        200,
    ),
    Target("title", gettext_lazy("Job title"), ("职务", "职位", "title", "job title", "position"), 100),
    Target(
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
    Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "邮件", "email", "e-mail", "mail"), 254),
    Target("wechat", gettext_lazy("WeChat ID"), ("微信", "微信号", "wechat", "wechat id", "weixin"), 64),
    Target("region", gettext_lazy("Region"), ("地区", "区域", "省份", "城市", "region", "area", "city"), 50),
    Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry"), 50),
    Target("source", gettext_lazy("Source"), ("来源", "线索来源", "渠道", "source", "lead source", "channel"), 50),
    Target("campaign", gettext_lazy("Campaign"), ("活动", "市场活动", "campaign", "utm_campaign"), 100),
    Target(
        "product",
        gettext_lazy("Product line"),
        ("产品线", "意向产品", "product line", "product"),
        200,
    ),
    Target("tags", gettext_lazy("Tags"), ("标签", "线索标签", "tags", "tag", "labels"), 500),
    Target(
        "message",
        gettext_lazy("Notes"),
        ("备注", "留言", "需求", "说明", "notes", "note", "message", "remarks", "comments"),
        5000,
    ),
)


@dataclass
class LeadRow(Row):
    lead: dict[str, Any] = field(default_factory=dict)
    identifiers: list = field(default_factory=list)
    match: DuplicateMatch | None = None
    # The earlier row of the file this one repeats (linked to the lead that row becomes).
    same_as_row: int | None = None
    tags: list[Tag] = field(default_factory=list)


class LeadKind(ImportKind):
    key = "lead"
    label = gettext_lazy("Leads")
    title = gettext_lazy("Import leads")
    description = gettext_lazy(
        "One lead per row, below a header row. Rows that match an existing lead or customer (phone, email or "
        "company) are imported and flagged as duplicates; their holders are told. Only invalid rows are rejected."
    )
    mapping_hint = gettext_lazy(
        "Recognised headers are chosen for you; check them and choose a column for the name or the company at least."
    )
    targets = TARGETS
    custom_kind = "lead"
    audit_action = "lead.import"
    list_url_name = "sales:lead_list"
    upload_url_name = "sales:lead_import"
    menu = "leads"
    template_dir = "sales/leads/import"
    importable = (RowStatus.VALID, RowStatus.DUPLICATE)
    refusal = gettext_lazy("Only sales reps, managers and administrators import leads.")
    result_text = ngettext_lazy(
        "%(created)d lead imported (%(duplicates)d flagged as duplicates), %(rejected)d rows rejected.",
        "%(created)d leads imported (%(duplicates)d flagged as duplicates), %(rejected)d rows rejected.",
        "created",
    )

    # --- whom for ------------------------------------------------------------------------------------------------

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        if "name" not in columns and "company" not in columns:
            raise DomainError(_("Choose the column that holds the name (or the company)."), field="name")

    @classmethod
    def destinations(cls, user: User) -> list[tuple[str, Any]]:
        owners = sales_assignable_users(user).order_by("full_name", "pk")
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(str(u.pk), u.full_name or u.email) for u in owners if u.pk != user.pk]
        if is_lead_manager(user):
            choices.append((UNASSIGNED, _("Nobody yet (hand out later)")))
            choices += [
                (f"{POOL_PREFIX}{pool.pk}", _("The lead pool “%(pool)s”") % {"pool": pool.name})
                for pool in LeadPool.objects.visible_to(user)
            ]
        return choices

    @classmethod
    def options_for(cls, user: User, destination: str | None) -> dict[str, Any]:
        if destination and destination.startswith(POOL_PREFIX):
            pool_id = destination.removeprefix(POOL_PREFIX)
            pool = LeadPool.objects.visible_to(user).filter(pk=int(pool_id) if pool_id.isdigit() else None).first()
            if pool is None or not is_lead_manager(user):
                raise DomainError(_("Choose a lead pool you see."), field="target")
            return {"owner": None, "pool": pool.pk}
        if destination == UNASSIGNED:
            if not is_lead_manager(user):
                raise DomainError(_("Only managers and administrators import leads for nobody yet."), field="target")
            return {"owner": None}
        owner_id = int(destination) if destination and destination.isdigit() else user.pk
        if not sales_assignable_users(user).filter(pk=owner_id).exists():
            raise DomainError(_("You cannot import leads for this colleague."), field="target")
        return {"owner": owner_id}

    @classmethod
    def destination_label(cls, job: ImportJob) -> str:
        owner_id = (job.options or {}).get("owner")
        pool = LeadPool.objects.filter(tenant=job.tenant, pk=(job.options or {}).get("pool")).first()
        if owner_id is None and pool is not None:
            return _("the lead pool “%(pool)s”") % {"pool": pool.name}
        if owner_id is None:
            return _("nobody yet (managers hand them out)")
        owner = job.tenant.users.filter(pk=owner_id).first()
        return owner.full_name if owner else "—"

    def check_options(self) -> None:
        """The owner the job imports for (None: unassigned), re-checked against what the user may choose now."""
        owner_id = (self.job.options or {}).get("owner")
        pool_id = (self.job.options or {}).get("pool")
        self.owner = None
        if pool_id is not None:
            self.pool = LeadPool.objects.visible_to(self.user).filter(pk=pool_id).first()
            if self.pool is None:
                raise DomainError(_("The chosen lead pool is no longer open to you; upload the file again."))
        if owner_id is None:
            if not is_lead_manager(self.user):
                raise DomainError(_("Only managers and administrators import leads for nobody yet."))
            return
        self.owner = sales_assignable_users(self.user).filter(pk=owner_id).first()
        if self.owner is None:
            raise DomainError(_("The chosen owner can no longer receive leads from you; upload the file again."))

    # --- classifying -----------------------------------------------------------------------------------------------

    def __init__(self, *, job: ImportJob, user: User):
        super().__init__(job=job, user=user)
        self.owner: User | None = None
        self.pool: LeadPool | None = None
        self.seen: dict[tuple[str, str], int] = {}
        self._notes: dict[tuple[str, str, int], str] = {}
        # Row number → id of the lead it became (for later rows of the file that repeat it).
        self.created: dict[int, int] = {}
        # Region, industry and source cells map to the company's lists (ChoiceLookup.resolve).
        self.choices = ChoiceLookup(self.tenant)
        self._products: dict[str, Product] | None = None
        self._tags: dict[str, Tag] | None = None

    def product_of(self, cell: str) -> Product | None:
        """The product line a cell names: a product of the catalogue by its name or its code, whatever the case (an
        active product before a retired one of the same name). One query per import pass."""
        if self._products is None:
            self._products = {}
            for product in Product.objects.filter(tenant=self.tenant).order_by("is_active", "-pk"):
                self._products[product.code.casefold()] = product
                self._products[product.name.casefold()] = product
        return self._products.get(cell.strip().casefold())

    def tags_of(self, cell: str) -> tuple[list[Tag], list[str]]:
        """The company's tags a cell names (separated by commas, semicolons or 、), and the names it does not know."""
        if self._tags is None:
            self._tags = {t.name.casefold(): t for t in Tag.objects.filter(tenant=self.tenant)}
        found: dict[int, Tag] = {}
        unknown = []
        for name in TAG_SEPARATORS.split(cell):
            name = name.strip()
            if not name:
                continue
            tag = self._tags.get(name.casefold())
            if tag is None:
                unknown.append(name)
            else:
                found[tag.pk] = tag
        return list(found.values()), unknown

    def clean(self, number: int, cells: list[str]) -> LeadRow:
        """One row, no database: the per-cell rules (those of sales.services.lead.clean_lead_data, every cell at once)."""
        row = self.row(number, cells, LeadRow)
        errors = row.errors
        name = row.get("name") or row.get("company")
        if not name:
            errors.setdefault("name", _("The name is missing."))
        phone = ""
        if row.get("phone") and "phone" not in errors:
            try:
                phone = clean_phone(row.get("phone"), self.tenant, "phone")
            except DomainError as exc:
                errors["phone"] = exc.message
        email = ""
        if row.get("email") and "email" not in errors:
            email = normalize_email(row.get("email"))
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = _("“%(value)s” is not a valid email address.") % {"value": row.get("email")}
        listed = {}
        for kind in ("region", "industry", "source"):
            listed[kind], error = self.choices.resolve(kind, row.get(kind))
            if error:
                errors[kind] = error
        product = None
        if row.get("product"):
            product = self.product_of(row.get("product"))
            if product is None:
                errors["product"] = _("“%(value)s” is no product of your company's catalogue.") % {
                    "value": row.get("product")
                }
        if row.get("tags"):
            row.tags, unknown = self.tags_of(row.get("tags"))
            if unknown:
                errors["tags"] = _("Unknown tags: %(names)s. Add them under Settings → Customer levels and tags.") % {
                    "names": "、".join(unknown)
                }
        if not errors and not (phone or email or row.get("wechat")):
            errors["phone"] = _("Give a phone number, an email or a WeChat ID, so the lead can be reached.")
        custom = self.custom_cells(row)
        if errors:
            row.status = RowStatus.INVALID
            return row
        row.lead = {
            "name": name[:100],
            "company": row.get("company"),
            "title": row.get("title"),
            "phone": phone,
            "email": email,
            "wechat": row.get("wechat"),
            "region": listed["region"],
            "industry": listed["industry"],
            "source": listed["source"],
            "campaign": row.get("campaign"),
            "message": row.get("message"),
            "product": product,
            "custom": custom,
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
        matches = Lead.objects.filter(tenant=self.tenant).filter(query).select_related("owner")
        for lead in matches.order_by("is_duplicate", "created_at", "pk"):
            for kind, column in columns.items():
                value = getattr(lead, column)
                if value and value in by_kind.get(kind, ()):
                    found.setdefault((kind, value), lead)
        return found

    def _note(self, kind: str, holder, what: str) -> str:
        key = (kind, type(holder).__name__, holder.pk)
        if key not in self._notes:
            if isinstance(holder, Customer):
                described = describe_holder(holder, self.user, kind=kind)
            else:
                described = describe_lead_holder(holder, self.user)
            self._notes[key] = _("Its %(what)s matches %(holder)s.") % {"what": what, "holder": described}
        return self._notes[key]

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[LeadRow]:
        """Two queries a batch: the customers and the leads its rows match."""
        results = [self.clean(number, cells) for number, cells in batch]
        valid = [r for r in results if r.status == RowStatus.VALID]
        customers = self._customers_taken(valid)
        lead_matches = self._leads_taken(valid)
        for row in valid:
            keys = [(i.kind, i.value) for i in row.identifiers]
            customer_key = next((k for k in keys if k in customers), None)
            lead_key = next((k for k in keys if k in lead_matches), None)
            if customer_key or lead_key:
                kind = (customer_key or lead_key)[0]
                row.match = DuplicateMatch(
                    kind=kind,
                    customer=customers[customer_key] if customer_key else None,
                    lead=lead_matches[lead_key] if lead_key else None,
                )
                row.note = self._note(kind, row.match.customer or row.match.lead, str(KIND_LABELS_LAZY[kind]))
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

    # --- creating ----------------------------------------------------------------------------------------------------

    def create(self, rows: list[LeadRow]) -> list[LeadRow]:
        """Bulk-create a batch's leads (duplicates flagged and linked), score them, audit each, and tell the holders
        of what they repeat. Nothing is refused: a lead has no unique identifier."""
        tenant, user, owner = self.tenant, self.user, self.owner
        now = timezone.now()
        # The home lead pool: the one chosen, else the default one (where unassigned leads wait).
        pool = pool_for_new_lead(tenant.pk, self.pool)
        new = []
        for row in rows:
            lead = Lead(
                tenant=tenant,
                created_by=user,
                created_at=now,
                owner=owner,
                owned_since=now if owner is not None else None,
                pool=pool,
                origin=LeadOrigin.IMPORT,
                import_job=self.job,
                company_key=normalize_company_name(row.lead["company"]),
                **row.lead,
            )
            match = row.match
            if match is not None:
                lead.is_duplicate, lead.duplicate_kind = True, match.kind
                lead.duplicate_of_customer = match.customer
                lead.duplicate_of_lead = match.lead
                if row.same_as_row is not None:
                    lead.duplicate_of_lead_id = self.created.get(row.same_as_row)
            new.append(lead)
        Lead.objects.bulk_create(new)
        LeadTag.objects.bulk_create(
            [
                LeadTag(tenant=tenant, lead=lead, tag=tag, created_by=user)
                for row, lead in zip(rows, new, strict=True)
                for tag in row.tags
            ]
        )
        relink = []
        for row, lead in zip(rows, new, strict=True):
            self.created[row.number] = lead.pk
            if row.same_as_row is not None and lead.duplicate_of_lead_id is None:
                lead.duplicate_of_lead_id = self.created.get(row.same_as_row)
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
                        "import": self.job.pk,
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
        return []

    def finish(self) -> dict[str, Any]:
        return {"owner": self.owner.pk if self.owner else None, "pool": self.pool.pk if self.pool else None}
