"""The contact import kind: contacts added to customers that already exist, one per row.

Each row names its customer by the customer's name, unified social credit code or a phone the customer already
has (any of them; those given must agree). Rules of a row, the same in the preview and again at commit:
- invalid: no contact name; no way to tell the customer; no live customer matches, several do, or the given ones
  disagree; the customer is one the importer may not change (the reason says who holds it, no more than the
  importer may see); a phone, email or birthday that is not one; a value longer than its field;
- duplicate (rejected): the customer already has a contact of that name, phone or email; the phone or email
  belongs to another customer (防撞单); or an earlier row of the file adds the same to the same customer;
- valid otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.errors import DomainError
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.models import ImportJob
from crm.imports.reader import Target
from crm.models import AuditEvent, User
from customers.imports.customer import contact_cells
from customers.models import Contact, Customer, CustomerIdentifier
from customers.normalize import nfkc, normalize_company_name, normalize_credit_code
from customers.services.contact import clean_phone, contact_save
from customers.services.identifier import (
    KIND_LABELS,
    DuplicateCustomer,
    Identifier,
    describe_holder,
    duplicate_error,
    identifiers_of,
)

logger = logging.getLogger(__name__)

TARGETS: tuple[Target, ...] = (
    Target(
        "customer",
        gettext_lazy("Customer name"),
        ("客户名称", "客户", "公司名称", "企业名称", "单位名称", "公司", "customer", "customer name", "company"),
        200,
    ),
    Target(
        "credit_code",
        gettext_lazy("Customer's credit code"),
        ("统一社会信用代码", "社会信用代码", "信用代码", "credit code", "unified social credit code", "uscc"),
    ),
    Target(
        "customer_phone",
        gettext_lazy("Customer's phone"),
        ("客户电话", "公司电话", "客户手机", "单位电话", "customer phone", "company phone"),
    ),
    Target(
        "name",
        gettext_lazy("Contact name"),
        ("联系人", "联系人姓名", "姓名", "contact", "contact name", "name"),
        100,
        required=True,
    ),
    Target("title", gettext_lazy("Job title"), ("职务", "职位", "title", "job title", "position"), 100),
    Target(
        "mobile",
        gettext_lazy("Mobile"),
        ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobile phone", "cell", "cellphone", "联系电话", "电话"),
    ),
    Target(
        "phone", gettext_lazy("Other phone"), ("座机", "固定电话", "固话", "办公电话", "landline", "tel", "telephone")
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
# The cells that tell the customer, in the order a refusal names them.
CUSTOMER_KEYS = ("customer", "credit_code", "customer_phone")
IDENTIFIER_FIELDS = {
    CustomerIdentifier.Kind.COMPANY: "customer",
    CustomerIdentifier.Kind.CREDIT_CODE: "credit_code",
    CustomerIdentifier.Kind.PHONE: "customer_phone",
}


def _name_key(name: str) -> str:
    return nfkc(name).casefold()


@dataclass
class ContactRow(Row):
    contact: dict[str, Any] = field(default_factory=dict)
    # (identifier kind, normalized value) of the cells that tell the customer.
    lookups: list[tuple[str, str]] = field(default_factory=list)
    # The contact's own phones and email, checked against every live customer (防撞单).
    identifiers: list[Identifier] = field(default_factory=list)
    customer: Customer | None = None

    @property
    def customer_field(self) -> str:
        return next((k for k in CUSTOMER_KEYS if self.get(k)), "customer")

    @property
    def company(self) -> tuple[str, str] | None:
        """The company-name lookup of the row, when it names its customer."""
        return next((k for k in self.lookups if k[0] == CustomerIdentifier.Kind.COMPANY), None)


class ContactKind(ImportKind):
    key = "contact"
    label = gettext_lazy("Customers")
    title = gettext_lazy("Import contacts into existing customers")
    description = gettext_lazy(
        "One contact per row, below a header row; each row names its customer by the customer's name, unified "
        "social credit code or a phone the customer already has."
    )
    mapping_hint = gettext_lazy(
        "Recognised headers are chosen for you; check them and choose a column for the contact's name and one that "
        "tells the customer (its name, credit code or phone) at least."
    )
    targets = TARGETS
    custom_kind = "contact"
    audit_action = "contact.import"
    list_url_name = "customers:list"
    upload_url_name = "customers:contact_import"
    menu = "customers"
    order = 20
    refusal = gettext_lazy("Only sales reps, managers and administrators import contacts.")
    result_text = ngettext_lazy(
        "%(created)d contact imported, %(rejected)d rows rejected.",
        "%(created)d contacts imported, %(rejected)d rows rejected.",
        "created",
    )

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        if "name" not in columns:
            raise DomainError(_("Choose the column that holds the contact's name."), field="name")
        if not any(key in columns for key in CUSTOMER_KEYS):
            raise DomainError(
                _("Choose the column that tells the customer: its name, credit code or phone."), field="customer"
            )

    # --- classifying -----------------------------------------------------------------------------------------------

    def __init__(self, *, job: ImportJob, user: User):
        super().__init__(job=job, user=user)
        self.today = timezone.now().astimezone(self.tenant.tzinfo).date()
        # What earlier rows of the file add: (customer id, "name"/kind, value) and (identifier kind, value) → row.
        self.seen: dict[tuple, int] = {}
        self._holders: dict[tuple[str, int], str] = {}

    def clean(self, number: int, cells: list[str]) -> ContactRow:
        """One row, no database: the per-cell rules."""
        row = self.row(number, cells, ContactRow)
        errors = row.errors
        if not row.get("name"):
            errors["name"] = _("The contact's name is missing.")
        if row.get("customer"):
            row.lookups.append((CustomerIdentifier.Kind.COMPANY, normalize_company_name(row.get("customer"))))
        if row.get("credit_code"):
            row.lookups.append((CustomerIdentifier.Kind.CREDIT_CODE, normalize_credit_code(row.get("credit_code"))))
        if row.get("customer_phone") and "customer_phone" not in errors:
            try:
                phone = clean_phone(row.get("customer_phone"), self.tenant, "customer_phone")
            except DomainError as exc:
                errors["customer_phone"] = exc.message
            else:
                row.lookups.append((CustomerIdentifier.Kind.PHONE, phone))
        if not any(row.get(k) for k in CUSTOMER_KEYS):
            errors["customer"] = _("Say which customer the contact belongs to: its name, credit code or phone.")
        contact = contact_cells(row, self.tenant, self.today)
        custom = self.custom_cells(row)
        if errors:
            row.status = RowStatus.INVALID
            return row
        row.contact = {"name": row.get("name"), **contact, "notes": row.get("notes"), "custom": custom}
        row.identifiers = identifiers_of({"kind": Customer.Kind.PERSON}, [row.contact])
        return row

    def _identified(self, rows: list[ContactRow]) -> dict[tuple[str, str], Customer]:
        """The live customers holding the rows' lookups and the contacts' own identifiers: one query."""
        wanted = {key for row in rows for key in row.lookups}
        wanted |= {(i.kind, i.value) for row in rows for i in row.identifiers}
        if not wanted:
            return {}
        query = Q()
        for kind, value in wanted:
            query |= Q(kind=kind, value=value)
        found = (
            CustomerIdentifier.objects.for_tenant(self.tenant)
            .filter(query)
            .select_related("customer__owner", "customer__pool")
        )
        return {(i.kind, i.value): i.customer for i in found}

    def _by_exact_name(self, names: set[str]) -> dict[str, list[Customer]]:
        """Live customers of exactly these names: people (who have no company-name identifier) are found so."""
        if not names:
            return {}
        found: dict[str, list[Customer]] = {}
        customers = Customer.objects.filter(tenant=self.tenant, deleted_at__isnull=True, name__in=names)
        for customer in customers.select_related("owner", "pool"):
            found.setdefault(customer.name, []).append(customer)
        return found

    def _holder(self, customer: Customer) -> str:
        key = ("holder", customer.pk)
        if key not in self._holders:
            self._holders[key] = describe_holder(customer, self.user)
        return self._holders[key]

    def _resolve(self, rows: list[ContactRow], identified: dict[tuple[str, str], Customer]) -> None:
        """Each row's customer, or the reason it has none."""
        by_name = self._by_exact_name(
            {row.get("customer") for row in rows if row.company and row.company not in identified}
        )
        for row in rows:
            found: dict[int, Customer] = {}
            for key in row.lookups:
                if key in identified:
                    found.setdefault(identified[key].pk, identified[key])
            if row.company and row.company not in identified:
                named = by_name.get(row.get("customer"), [])
                if len(named) > 1:
                    row.refuse(
                        "customer",
                        _("Several customers are named “%(name)s”; give the customer's credit code or phone too.")
                        % {"name": row.get("customer")},
                    )
                    continue
                for customer in named:
                    found.setdefault(customer.pk, customer)
            if not found:
                field_key = row.customer_field
                row.refuse(field_key, _("No customer matches “%(value)s”.") % {"value": row.get(field_key)})
            elif len(found) > 1:
                row.refuse(
                    row.customer_field, _("The customer's name, credit code and phone given match different customers.")
                )
            else:
                row.customer = next(iter(found.values()))

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[ContactRow]:
        results = [self.clean(number, cells) for number, cells in batch]
        valid = [r for r in results if r.status == RowStatus.VALID]
        identified = self._identified(valid)
        self._resolve(valid, identified)
        valid = [r for r in valid if r.status == RowStatus.VALID]
        ids = {r.customer.pk for r in valid}
        editable = set(Customer.objects.editable_by(self.user).filter(pk__in=ids).values_list("pk", flat=True))
        existing: dict[int, list[dict]] = {}
        for contact in Contact.objects.filter(tenant=self.tenant, customer_id__in=editable).values(
            "customer_id", "name", "mobile", "phone", "email"
        ):
            existing.setdefault(contact["customer_id"], []).append(contact)
        for row in valid:
            customer = row.customer
            if customer.pk not in editable:
                row.refuse(
                    row.customer_field,
                    _("You may not add contacts to %(holder)s.") % {"holder": self._holder(customer)},
                )
                continue
            self._judge(row, existing.get(customer.pk, []), identified)
            if row.status == RowStatus.VALID:
                self.seen.setdefault((customer.pk, "name", _name_key(row.contact["name"])), row.number)
                for ident in row.identifiers:
                    self.seen.setdefault((ident.kind, ident.value), row.number)
        return results

    def _judge(self, row: ContactRow, existing: list[dict], identified: dict[tuple[str, str], Customer]) -> None:
        """Duplicates: of a contact the customer has, of another customer's phone or email, of an earlier row."""
        customer = row.customer
        name = _name_key(row.contact["name"])
        for ident in row.identifiers:
            for contact in existing:
                values = (contact["mobile"], contact["phone"]) if ident.kind == "phone" else (contact["email"],)
                if ident.value in values:
                    row.refuse(
                        ident.field,
                        _("%(what)s already belongs to contact “%(name)s” of this customer.")
                        % {"what": KIND_LABELS[ident.kind](), "name": contact["name"]},
                        RowStatus.DUPLICATE,
                    )
                    return
            holder = identified.get((ident.kind, ident.value))
            if holder is not None and holder.pk != customer.pk:
                row.refuse(ident.field, duplicate_error(ident, holder, self.user).message, RowStatus.DUPLICATE)
                return
        same_name = next((c for c in existing if _name_key(c["name"]) == name), None)
        if same_name is not None:
            row.refuse(
                "name",
                _("This customer already has a contact named “%(name)s”.") % {"name": same_name["name"]},
                RowStatus.DUPLICATE,
            )
            return
        earlier = self.seen.get((customer.pk, "name", name))
        if earlier is not None:
            row.refuse(
                "name",
                _("This contact already appears in row %(row)d of this file.") % {"row": earlier},
                RowStatus.DUPLICATE,
            )
            return
        for ident in row.identifiers:
            earlier = self.seen.get((ident.kind, ident.value))
            if earlier is not None:
                row.refuse(
                    ident.field,
                    _("%(what)s already appears in row %(row)d of this file.")
                    % {"what": KIND_LABELS[ident.kind](), "row": earlier},
                    RowStatus.DUPLICATE,
                )
                return

    # --- creating ----------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.now = timezone.now()

    def create(self, rows: list[ContactRow]) -> list[ContactRow]:
        """Add a batch's contacts under a lock on their customers (those no longer editable, or gone to the bin
        meanwhile, are refused). The batch runs in a savepoint: if the identifier index refuses it (a phone taken
        since the check), it is undone and redone row by row through customers.services.contact.contact_save, which names the
        holder."""
        ids = sorted({row.customer.pk for row in rows})
        locked = set(
            Customer.objects.editable_by(self.user)
            .filter(pk__in=ids)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        refused = []
        for row in rows:
            if row.customer.pk not in locked:
                row.refuse(row.customer_field, _("This customer is no longer one you may change."))
                refused.append(row)
        rows = [row for row in rows if row.customer.pk in locked]
        try:
            with transaction.atomic():
                self.bulk_create(rows)
                return refused
        except IntegrityError:
            logger.info("Import %s: a batch met a concurrent duplicate; retrying it row by row", self.job.pk)
        for row in rows:
            try:
                contact_save(acting_user=self.user, customer=row.customer, data=row.contact)
            except (DomainError, ValidationError, PermissionDenied) as exc:
                status = RowStatus.DUPLICATE if isinstance(exc, DuplicateCustomer) else RowStatus.INVALID
                row.refuse(getattr(exc, "field", None) or "name", getattr(exc, "message", "") or str(exc), status)
                refused.append(row)
        return refused

    def bulk_create(self, rows: list[ContactRow]) -> None:
        """The same writes as contact_save, for a batch: the contacts (the first one of a customer without
        a primary contact becomes its primary), their identifiers, one audit event each."""
        tenant, user, now = self.tenant, self.user, self.now
        with_primary = set(
            Contact.objects.filter(
                tenant=tenant, customer_id__in={r.customer.pk for r in rows}, is_primary=True
            ).values_list("customer_id", flat=True)
        )
        contacts = []
        for row in rows:
            primary = row.customer.pk not in with_primary
            with_primary.add(row.customer.pk)
            contacts.append(
                Contact(
                    tenant=tenant,
                    customer=row.customer,
                    created_by=user,
                    created_at=now,
                    is_primary=primary,
                    **row.contact,
                )
            )
        Contact.objects.bulk_create(contacts)
        CustomerIdentifier.objects.bulk_create(
            [
                CustomerIdentifier(tenant=tenant, customer=row.customer, kind=i.kind, value=i.value)
                for row in rows
                for i in row.identifiers
            ]
        )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    tenant=tenant,
                    actor=user,
                    action="contact.create",
                    object_type=Contact._meta.label_lower,
                    object_id=str(contact.pk),
                    object_repr=contact.name[:255],
                    details={"customer": row.customer.pk, "import": self.job.pk, "row": row.number},
                    at=now,
                )
                for row, contact in zip(rows, contacts, strict=True)
            ]
        )
