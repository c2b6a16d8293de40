"""The customer import kind: one customer (and its primary contact) per row.

Rules of a row (the same in the preview and again at commit):
- invalid, with a reason per cell: no customer name; a phone `normalize_phone` rejects; an email Django's
  EmailValidator rejects; a birthday that is not a date, in the future or before 1900; a level that is not a code,
  name or alias of one of the tenant's levels; a value longer than its field; a malformed credit code; a region,
  industry or source that is no value, English name or alias of the company's list, when that list accepts nothing
  else (a list accepting other values keeps the cell as it is; a known spelling becomes the list's value);
- duplicate (rejected): one of its identifiers (`customers.services.identifier.identifiers_of`: normalized company name, credit code,
  phones, email) belongs to a live customer (`CustomerIdentifier`, the database's own 防撞单 index), or to a valid
  row earlier in the file;
- valid otherwise. Only valid rows register their identifiers, so a row that repeats an invalid one is judged on
  its own.

Whom for: a rep imports into their own holdings; a manager or an administrator for a colleague they may assign
to, into the default pool, or with owners chosen by the assignment rules.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from crm.access import sales_assignable_users
from crm.database.bulk import rows_insert
from crm.errors import DomainError
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.models import ImportJob
from crm.imports.reader import Target, parse_date
from crm.models import AuditEvent, Role, User
from customers.models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerLevel,
    OwnershipEvent,
    Pool,
    credit_code_validator,
)
from customers.normalize import nfkc, normalize_email, parse_lunar_birthday, pinyin_forms
from customers.selectors.choice_list import ChoiceLookup
from customers.services.assignment import CUSTOMER, Assigner, customer_attrs, notify_new_owners, rules_of
from customers.services.contact import clean_phone
from customers.services.customer import customer_create
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_check, holdings_of, holdings_room, room_left
from customers.services.identifier import (
    KIND_LABELS,
    DuplicateCustomer,
    Identifier,
    duplicate_error,
    holders_visible,
    identifiers_of,
)
from customers.services.tenant import default_pool

logger = logging.getLogger(__name__)

POOL = "pool"
RULES = "rules"

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
        required=True,
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
    Target(
        "lunar_birthday",
        gettext_lazy("Lunar birthday"),
        ("农历生日", "阴历生日", "lunar birthday", "chinese birthday"),
    ),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remark", "remarks", "comments")),
)
# The cells that make a contact of a row (with the contact's name).
CONTACT_KEYS = ("title", "mobile", "phone", "email", "wechat", "birthday", "lunar_birthday")
CUSTOMER_LABEL = Customer._meta.label_lower

_email_validator = EmailValidator()


def level_lookup(tenant) -> dict[str, CustomerLevel]:
    """Every spelling of a level (code, name, aliases; NFKC, case-folded) → the level."""
    lookup: dict[str, CustomerLevel] = {}
    for level in CustomerLevel.objects.for_tenant(tenant).order_by("order", "code"):
        for spelling in [level.code, level.name, *(level.aliases or [])]:
            key = nfkc(spelling).casefold()
            if key:
                lookup.setdefault(key, level)
    return lookup


def contact_cells(row: Row, tenant, today: dt.date) -> dict[str, Any]:
    """A contact's cells of a row, checked and cleaned (phones to E.164, email lowercased, birthday a date); every
    refused cell is set on `row.errors`. Shared by the customer and the contact import."""
    phones = {}
    for key in ("mobile", "phone"):
        if row.get(key) and key not in row.errors:
            try:
                phones[key] = clean_phone(row.get(key), tenant, key)
            except DomainError as exc:
                row.errors[key] = exc.message
    email = ""
    if row.get("email") and "email" not in row.errors:
        email = normalize_email(row.get("email"))
        try:
            _email_validator(email)
        except ValidationError:
            row.errors["email"] = _("“%(value)s” is not a valid email address.") % {"value": row.get("email")}
    birthday = None
    if row.get("birthday"):
        birthday = parse_date(row.get("birthday"))
        if birthday is None:
            row.errors["birthday"] = _("“%(value)s” is not a date; write it like 1990-05-31.") % {
                "value": row.get("birthday")
            }
        elif birthday > today:
            row.errors["birthday"] = _("A birthday cannot be in the future.")
        elif birthday.year < 1900:
            row.errors["birthday"] = _("A birthday before 1900 is not plausible.")
    lunar = None
    if row.get("lunar_birthday"):
        lunar = parse_lunar_birthday(row.get("lunar_birthday"))
        if lunar is None:
            row.errors["lunar_birthday"] = _(
                "“%(value)s” is not a lunar birthday; write it like 八月十五, 闰四月初八 or 8-15."
            ) % {"value": row.get("lunar_birthday")}
    cells = {
        "title": row.get("title"),
        "mobile": phones.get("mobile", ""),
        "phone": phones.get("phone", ""),
        "email": email,
        "wechat": row.get("wechat"),
        "birthday": birthday,
    }
    if lunar is not None:
        # A lunar birthday given in an import is the one the contact is greeted on.
        cells.update(
            lunar_birthday_month=lunar[0],
            lunar_birthday_day=lunar[1],
            lunar_birthday_leap=lunar[2],
            prefers_lunar_birthday=True,
        )
    return cells


@dataclass
class CustomerRow(Row):
    customer: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] | None = None
    identifiers: list[Identifier] = field(default_factory=list)


def may_choose_pool(user: User) -> bool:
    return user.has_any_role(Role.ADMIN, Role.MANAGER)


class CustomerKind(ImportKind):
    key = "customer"
    custom_kind = "customer"
    label = gettext_lazy("Customers")
    title = gettext_lazy("Import customers")
    description = gettext_lazy("One customer per row, below a header row.")
    mapping_hint = gettext_lazy(
        "Recognised headers are chosen for you; check them and choose a column for the customer name at least."
    )
    targets = TARGETS
    audit_action = "customer.import"
    list_url_name = "customers:list"
    upload_url_name = "customers:import"
    menu = "customers"
    order = 10
    refusal = gettext_lazy("Only sales reps, managers and administrators import customers.")
    result_text = ngettext_lazy(
        "%(created)d customer imported, %(rejected)d rows rejected.",
        "%(created)d customers imported, %(rejected)d rows rejected.",
        "created",
    )

    # --- whom for ------------------------------------------------------------------------------------------------

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        if "name" not in columns:
            raise DomainError(_("Choose the column that holds the customer name."), field="name")

    @classmethod
    def destinations(cls, user: User) -> list[tuple[str, Any]]:
        owners = sales_assignable_users(user).order_by("full_name", "pk")
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(str(u.pk), u.full_name or u.email) for u in owners if u.pk != user.pk]
        if may_choose_pool(user):
            choices.append((POOL, _("The public pool (no owner)")))
            choices.append((RULES, _("Owners chosen by the assignment rules")))
        return choices

    @classmethod
    def options_for(cls, user: User, destination: str | None) -> dict[str, Any]:
        if destination == RULES:
            if not may_choose_pool(user):
                raise DomainError(_("Only managers and administrators import by the assignment rules."), field="target")
            return {"owner": None, "by_rules": True}
        if destination == POOL:
            if not may_choose_pool(user):
                raise DomainError(_("Only managers and administrators import into the pool."), field="target")
            return {"owner": None, "by_rules": False}
        owner_id = int(destination) if destination and destination.isdigit() else user.pk
        if not sales_assignable_users(user).filter(pk=owner_id).exists():
            raise DomainError(_("You cannot import customers for this colleague."), field="target")
        return {"owner": owner_id, "by_rules": False}

    @classmethod
    def by_rules(cls, job: ImportJob) -> bool:
        """The job gives each new customer an owner by the assignment rules (customers.assignment)."""
        return bool((job.options or {}).get("by_rules"))

    @classmethod
    def destination_label(cls, job: ImportJob) -> str:
        if cls.by_rules(job):
            return _("owners chosen by the assignment rules")
        owner_id = (job.options or {}).get("owner")
        if owner_id is None:
            return _("the public pool")
        owner = job.tenant.users.filter(pk=owner_id).first()
        return owner.full_name if owner else "—"

    def check_options(self) -> None:
        """The owner (or pool) the job imports into, re-checked against what the user may choose now."""
        owner_id = (self.job.options or {}).get("owner")
        self.owner, self.pool = None, None
        if self.by_rules(self.job):
            if not may_choose_pool(self.user):
                raise DomainError(_("Only managers and administrators import by the assignment rules."))
            return
        if owner_id is None:
            if not may_choose_pool(self.user):
                raise DomainError(_("Only managers and administrators import into the pool."))
            self.pool = default_pool(self.tenant)
            return
        self.owner = sales_assignable_users(self.user).filter(pk=owner_id).first()
        if self.owner is None:
            raise DomainError(_("The chosen owner can no longer receive customers from you; upload the file again."))

    # --- classifying -----------------------------------------------------------------------------------------------

    def __init__(self, *, job: ImportJob, user: User):
        super().__init__(job=job, user=user)
        self.levels = level_lookup(self.tenant)
        self.level_names = ", ".join(sorted({lvl.code for lvl in self.levels.values()})) or "—"
        self.today = timezone.now().astimezone(self.tenant.tzinfo).date()
        self.seen: dict[tuple[str, str], int] = {}
        self._holder_messages: dict[tuple[str, int], str] = {}
        # The owners and pools of customers that hold a row's identifier, by primary key (`_relate`).
        self._owners: dict[int, User] = {}
        self._holder_pools: dict[int, Pool] = {}
        self.owner: User | None = None
        self.pool: Pool | None = None
        # The holdings cap of the rep the job imports for: rows past the room they have left are refused.
        self.room: int | None = None
        self.room_known = False
        self.over_cap = 0
        # Region, industry and source cells map to the company's lists (ChoiceLookup.resolve).
        self.choices = ChoiceLookup(self.tenant)

    def clean(self, number: int, cells: list[str]) -> CustomerRow:
        """One row, no database: the per-cell rules."""
        row = self.row(number, cells, CustomerRow)
        errors = row.errors
        name = row.get("name")
        if not name:
            errors["name"] = _("The customer name is missing.")
        level = None
        if row.get("level"):
            level = self.levels.get(nfkc(row.get("level")).casefold())
            if level is None:
                errors["level"] = _("Unknown level “%(value)s”; use one of: %(levels)s.") % {
                    "value": row.get("level"),
                    "levels": self.level_names,
                }
        credit_code = ""
        if row.get("credit_code"):
            credit_code = nfkc(row.get("credit_code")).upper().replace(" ", "")
            try:
                credit_code_validator(credit_code)
            except ValidationError as exc:
                errors["credit_code"] = " ".join(exc.messages)
        listed = {}
        for kind in ("region", "industry", "source"):
            listed[kind], error = self.choices.resolve(kind, row.get(kind))
            if error:
                errors[kind] = error
        contact = contact_cells(row, self.tenant, self.today)
        custom = self.custom_cells(row)
        if errors:
            row.status = RowStatus.INVALID
            return row
        row.customer = {
            "kind": Customer.Kind.COMPANY,
            "name": name,
            "level": level,
            "industry": listed["industry"],
            "region": listed["region"],
            "source": listed["source"],
            "credit_code": credit_code,
            "address": row.get("address"),
            "notes": row.get("notes"),
            "custom": custom,
        }
        if row.get("contact") or any(row.get(key) for key in CONTACT_KEYS):
            # A phone or email without a contact name is kept (and dedup-protected) under the customer's name.
            row.contact = {"name": (row.get("contact") or name)[:100], **contact}
        row.identifiers = identifiers_of(row.customer, [row.contact] if row.contact else [])
        return row

    def _holder_message(self, ident: Identifier, holder: Customer, visible: set[int]) -> str:
        key = (ident.kind, holder.pk)
        if key not in self._holder_messages:
            self._holder_messages[key] = duplicate_error(ident, holder, self.user, visible=holder.pk in visible).message
        return self._holder_messages[key]

    def _taken(self, rows: list[CustomerRow]) -> dict[tuple[str, str], Customer]:
        """The identifiers of `rows` that belong to customers, with those customers: one statement for the whole
        batch, one probe of the identifier index per identifier and one of the primary key per match, then the
        holders' owners and pools not met before (by primary key; a file's holders have few of them). Probes only:
        a filter over the customers, or a join, would be planned on the tables' statistics, which a long import
        outgrows within its own transaction (a tenant's first large import most of all), so each batch would read
        every customer written before it."""
        by_kind: dict[str, set[str]] = {}
        for row in rows:
            for ident in row.identifiers:
                by_kind.setdefault(ident.kind, set()).add(ident.value)
        if not by_kind:
            return {}
        kinds = [kind for kind, values in by_kind.items() for _value in values]
        values = [value for values in by_kind.values() for value in values]
        identifiers, customers = CustomerIdentifier._meta.db_table, Customer._meta.db_table
        sql = (
            "SELECT v.kind AS ident_kind, v.value AS ident_value, c.* "  # noqa: S608 - the models' own tables
            "FROM unnest(%s::text[], %s::text[]) AS v(kind, value) "
            f"CROSS JOIN LATERAL (SELECT customer_id FROM {identifiers} WHERE tenant_id = %s "
            "AND kind = v.kind AND value = v.value LIMIT 1) AS i "
            f"CROSS JOIN LATERAL (SELECT * FROM {customers} WHERE tenant_id = %s AND id = i.customer_id LIMIT 1) AS c"
        )
        holders: dict[int, Customer] = {}
        taken: dict[tuple[str, str], Customer] = {}
        for found in Customer.objects.raw(sql, [kinds, values, self.tenant.pk, self.tenant.pk]):
            holder = holders.setdefault(found.pk, found)
            taken[found.ident_kind, found.ident_value] = holder
        self._relate(holders.values())
        return taken

    def _relate(self, holders) -> None:
        """Set the owner and the pool of each holder (their names say who holds a duplicate), read once per import."""
        owners = {h.owner_id for h in holders if h.owner_id is not None} - self._owners.keys()
        if owners:
            self._owners.update(User.objects.for_tenant(self.tenant).in_bulk(owners))
        pools = {h.pool_id for h in holders} - self._holder_pools.keys()
        if pools:
            self._holder_pools.update(Pool.objects.for_tenant(self.tenant).in_bulk(pools))
        for holder in holders:
            if holder.owner_id is not None:
                holder.owner = self._owners[holder.owner_id]
            holder.pool = self._holder_pools[holder.pool_id]

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[CustomerRow]:
        rows = self.clean_batch(batch)
        self.dedupe(rows)
        return rows

    def clean_batch(self, batch: list[tuple[int, list[str]]]) -> list[CustomerRow]:
        """The per-cell rules of a batch's rows (no database)."""
        return [self.clean(number, cells) for number, cells in batch]

    def dedupe(self, results: list[CustomerRow]) -> None:
        """Mark the valid rows whose identifiers a live customer or an earlier valid row of the file holds
        (duplicate), and count the others against the owner's room."""
        taken = self._taken([r for r in results if r.status == RowStatus.VALID])
        # Whether the user may be told who holds each identifier met: one query for the batch's holders.
        visible = holders_visible(self.user, {c.pk: c for c in taken.values()}.values()) if taken else set()
        for row in results:
            if row.status != RowStatus.VALID:
                continue
            # A live customer holding one of its identifiers is said first, then an earlier row of the file.
            holder = next((taken[i.kind, i.value] for i in row.identifiers if (i.kind, i.value) in taken), None)
            if holder is not None:
                ident = next(i for i in row.identifiers if taken.get((i.kind, i.value)) is holder)
                row.errors[ident.field] = self._holder_message(ident, holder, visible)
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
                self._take_room(row)

    def _cap_owner(self) -> User | None:
        """The rep every row goes to (a job for one owner), whose holdings cap the rows count against."""
        owner_id = (self.job.options or {}).get("owner")
        if self.by_rules(self.job) or owner_id is None:
            return None
        if self.owner is not None and self.owner.pk == owner_id:
            return self.owner
        return self.tenant.users.filter(pk=owner_id).first()

    def _take_room(self, row: CustomerRow) -> None:
        """A valid row takes one place of the owner's room under the cap; past it, the row is refused with why."""
        if not self.room_known:
            self.room_known = True
            self.cap_owner = self._cap_owner()
            if self.cap_owner is not None:
                # At commit, prepare() has locked the owner's row: the room cannot shrink until the import commits.
                self.held = holdings_of(self.tenant.pk, [self.cap_owner.pk]).get(self.cap_owner.pk, 0)
                self.room = self.room_at_start = room_left(self.tenant, self.held)
        if self.room is None:
            return
        if self.room > 0:
            self.room -= 1
            return
        self.over_cap += 1
        row.refuse("owner", self._over_cap_message())
        row.note = row.errors["owner"]

    def _over_cap_message(self) -> str:
        return _("Over the holdings cap: %(name)s may hold at most %(cap)d customers.") % {
            "name": self.cap_owner.full_name or self.cap_owner.email,
            "cap": self.tenant.max_customers_per_rep,
        }

    def notices(self) -> list[str]:
        if not self.over_cap:
            return []
        name = self.cap_owner.full_name or self.cap_owner.email
        cap = self.tenant.max_customers_per_rep
        return [
            ngettext(
                "%(count)d row will be refused: %(name)s holds %(held)d customers and may hold at most %(cap)d, "
                "so only %(room)d more fit.",
                "%(count)d rows will be refused: %(name)s holds %(held)d customers and may hold at most %(cap)d, "
                "so only %(room)d more fit.",
                self.over_cap,
            )
            % {
                "count": self.over_cap,
                "name": name,
                "held": self.held,
                "cap": cap,
                "room": self.room_at_start,
            }
        ]

    # --- creating ----------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.now = timezone.now()
        if self.owner is not None:
            # The owner's row stays locked until the import commits, as a claim or an assignment locks it.
            holdings_room(self.owner, lock=True)
        self.pools: dict[int, Pool] = {}
        # Importing by the assignment rules: the engine (its locks held until the import commits) and, per new owner,
        # what they were given (for one digest each).
        self.assigner = None
        self.assigned: dict[int, list[tuple[str, str, str]]] = {}
        if self.by_rules(self.job):
            self.assigner = Assigner(
                tenant=self.tenant, rules=[spec for _rule, spec in rules_of(self.tenant)], now=self.now, lock=True
            )
        self.default_pool = self.pool or default_pool(self.tenant)

    def decide(self, row: CustomerRow):
        """The row's owner, home pool and ownership event (reason, note): the job's target, or the rules' choice."""
        note = f"import #{self.job.pk}, row {row.number}"
        if self.assigner is None:
            return self.owner, self.default_pool, OwnershipEvent.Reason.IMPORT, note, None
        decision = self.assigner.choose(CUSTOMER, customer_attrs(row.customer))
        if decision.owner is not None:
            return decision.owner, self.default_pool, OwnershipEvent.Reason.ASSIGN, decision.rule.name, decision
        if decision.pool_id not in self.pools:
            self.pools[decision.pool_id] = Pool.objects.get(tenant=self.tenant, pk=decision.pool_id)
        return None, self.pools[decision.pool_id], OwnershipEvent.Reason.IMPORT, note, decision

    def assigned_to(self, decision, customer_id: int, name: str) -> None:
        if decision is None:
            return
        self.assigner.log(decision, customer_id)
        if decision.owner is not None:
            self.assigned.setdefault(decision.owner.pk, []).append((decision.kind, name, decision.rule.name))

    def create(self, rows: list[CustomerRow]) -> list[CustomerRow]:
        """Create a batch's valid rows; returns those refused meanwhile (a customer created by someone else since
        they were checked). The batch runs in a savepoint: if the identifier index refuses it, the batch is undone
        and redone row by row through customers.services.customer.customer_create, which names the holder."""
        decisions: dict[int, tuple] = {}
        try:
            with transaction.atomic():
                return self.bulk_create(rows, decisions)
        except IntegrityError:
            logger.info("Import %s: a batch met a concurrent duplicate; retrying it row by row", self.job.pk)
        if self.assigner is not None:
            # The batch was undone: the rules' choices for it are taken back, then made again row by row.
            for *_rest, decision in decisions.values():
                self.assigner.release(decision)
        refused = []
        for row in rows:
            owner, pool, reason, note, decision = self.decide(row)
            try:
                customer = customer_create(
                    acting_user=self.user,
                    data=row.customer,
                    contact=row.contact,
                    owner=owner,
                    to_pool=None if owner else pool,
                    reason=reason,
                    note=note,
                )
            except (DomainError, ValidationError) as exc:
                if decision is not None:
                    self.assigner.release(decision)
                refused.append(_refuse(row, exc))
            else:
                self.assigned_to(decision, customer.pk, customer.name)
        return refused

    def bulk_create(self, rows: list[CustomerRow], decisions: dict[int, tuple]) -> list[CustomerRow]:
        """The same writes as customer_create, for a batch, one statement per table (crm.database.bulk.rows_insert):
        customers, primary contacts, identifiers (the unique index decides races), ownership events and one audit
        event per customer. The rows' own rules (`clean`) are the model's field rules: lengths by their targets,
        the credit code by its validator, levels and lists by the company's values. Returns the rows refused (none:
        a refusal met here is the identifier index's, raised as IntegrityError for `create` to retry)."""
        tenant_id, user_id, now, job_id = self.tenant.pk, self.user.pk, self.now, self.job.pk
        for row in rows:
            decisions[row.number] = self.decide(row)
        if self.assigner is None and self.owner is not None:
            # A safety net: the rows were counted against the owner's room when classified.
            holdings_check(rep=self.owner, adding=len(rows))
        customers = []
        for row in rows:
            data = row.customer
            owner, pool, _reason, _note, _decision = decisions[row.number]
            full, initials = pinyin_forms(data["name"])
            level = data["level"]
            customers.append(
                {
                    "tenant_id": tenant_id,
                    "created_by_id": user_id,
                    "created_at": now,
                    "updated_at": now,
                    "kind": data["kind"],
                    "name": data["name"],
                    "name_pinyin": full,
                    "name_initials": initials,
                    "level_id": level.pk if level is not None else None,
                    "industry": data["industry"],
                    "region": data["region"],
                    "source": data["source"],
                    "credit_code": data["credit_code"],
                    "address": data["address"],
                    "notes": data["notes"],
                    "custom": data["custom"],
                    "owner_id": owner.pk if owner else None,
                    "owned_since": now if owner else None,
                    "pool_id": pool.pk,
                    "pooled_at": None if owner else now,
                }
            )
        ids = rows_insert(Customer, customers, ids=True)
        fallback_at_refresh(
            tenant=self.tenant, ids=[pk for pk, row in zip(ids, rows, strict=True) if decisions[row.number][0]]
        )
        contacts, identifiers, events, audits = [], [], [], []
        for row, customer_id in zip(rows, ids, strict=True):
            owner, pool, reason, note, decision = decisions[row.number]
            if row.contact is not None:
                contacts.append(
                    {
                        "tenant_id": tenant_id,
                        "customer_id": customer_id,
                        "created_by_id": user_id,
                        "created_at": now,
                        "is_primary": True,
                        **row.contact,
                    }
                )
            identifiers += [
                {"tenant_id": tenant_id, "customer_id": customer_id, "kind": i.kind, "value": i.value}
                for i in row.identifiers
            ]
            events.append(
                {
                    "tenant_id": tenant_id,
                    "customer_id": customer_id,
                    "to_owner_id": owner.pk if owner else None,
                    "to_pool_id": None if owner else pool.pk,
                    "reason": reason,
                    "actor_id": user_id,
                    "at": now,
                    "created_at": now,
                    "created_by_id": user_id,
                    "note": note,
                }
            )
            audits.append(
                {
                    "tenant_id": tenant_id,
                    "actor_id": user_id,
                    "action": "customer.create",
                    "object_type": CUSTOMER_LABEL,
                    "object_id": str(customer_id),
                    "object_repr": row.customer["name"][:255],
                    "details": {
                        "owner": owner.pk if owner else None,
                        "import": job_id,
                        "row": row.number,
                        **({"rule": decision.rule.pk if decision.rule else None} if decision else {}),
                    },
                    "at": now,
                }
            )
        # Rows of one batch carry the same keys (a contact's lunar birthday is optional): written by key set.
        for group in _by_keys(contacts):
            rows_insert(Contact, group)
        rows_insert(CustomerIdentifier, identifiers)
        rows_insert(OwnershipEvent, events)
        rows_insert(AuditEvent, audits)
        # Only now that every row of the batch is written: the rules' quota log and the owners' digests.
        for row, customer_id in zip(rows, ids, strict=True):
            decision = decisions[row.number][4]
            if decision is not None:
                self.assigned_to(decision, customer_id, row.customer["name"])
        return []

    def finish(self) -> dict[str, Any]:
        if self.assigner is not None:
            self.assigner.flush()
            notify_new_owners(self.assigned, key=f"import-assigned:{self.job.pk}")
        return {
            "owner": self.owner.pk if self.owner else None,
            "pool": None if self.owner else self.default_pool.pk,
            "by_rules": self.assigner is not None,
            "assigned": sum(len(items) for items in self.assigned.values()),
        }


def _by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[frozenset, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def _refuse(row: CustomerRow, exc: Exception) -> CustomerRow:
    if isinstance(exc, ValidationError):
        pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [("name", exc.messages)]
        for key, messages in pairs:
            row.errors[key if any(t.key == key for t in TARGETS) else "name"] = " ".join(messages)
        row.status = RowStatus.INVALID
    else:
        row.errors[getattr(exc, "field", None) or "name"] = getattr(exc, "message", str(exc))
        row.status = RowStatus.DUPLICATE if isinstance(exc, DuplicateCustomer) else RowStatus.INVALID
    return row
