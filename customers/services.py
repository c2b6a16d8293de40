"""Writes of the customers app: one function per use case, keyword-only, atomic, permission-checked, audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import AuditEvent, Role, Team, Tenant, User
from crm.services.audit import audit

from .models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerLevel,
    CustomerTag,
    CustomerUserObjectPermission,
    OwnershipEvent,
    Pool,
    PoolTeam,
    Tag,
)
from .normalize import normalize_company_name, normalize_credit_code, normalize_email, normalize_phone, pinyin_forms

TRASH_DAYS = 30
CUSTOMER_FIELDS = [
    "kind",
    "name",
    "status",
    "level",
    "industry",
    "region",
    "source",
    "is_key_account",
    "credit_code",
    "address",
    "website",
    "notes",
]
CONTACT_FIELDS = ["name", "title", "mobile", "phone", "email", "wechat", "birthday", "is_primary", "notes"]


class DuplicateCustomer(DomainError):
    """An identifier of the new or changed customer already belongs to a live customer (防撞单)."""

    def __init__(self, message: str, *, field: str | None = None, holder: Customer | None = None):
        super().__init__(message, field=field)
        self.holder = holder


# --- defaults ------------------------------------------------------------------------------------------------

DEFAULT_LEVELS = [
    ("A", "重点客户", ["重点客户", "重要客户", "VIP", "A类"]),
    ("B", "普通客户", ["普通客户", "一般客户", "B类"]),
    ("C", "小客户", ["小客户", "低价值客户", "C类"]),
]


def tenant_defaults(*, tenant: Tenant) -> None:
    """A new tenant's default pool and customer levels (idempotent)."""
    with translation.override(tenant.language):
        pool_name = _("Public pool")
    pool, created = Pool.objects.get_or_create(tenant=tenant, is_default=True, defaults={"name": pool_name})
    if created:
        # A new company's default pool is open to its top-level teams (and so to every team under them).
        PoolTeam.objects.bulk_create(
            [
                PoolTeam(tenant=tenant, pool=pool, team=team)
                for team in Team.objects.for_tenant(tenant).filter(parent=None)
            ]
        )
    for order, (code, name, aliases) in enumerate(DEFAULT_LEVELS):
        CustomerLevel.objects.get_or_create(
            tenant=tenant, code=code, defaults={"name": name, "aliases": aliases, "order": order}
        )


def default_pool(tenant: Tenant) -> Pool:
    pool = Pool.objects.filter(tenant=tenant, is_default=True).first()
    if pool is None:
        tenant_defaults(tenant=tenant)
        pool = Pool.objects.get(tenant=tenant, is_default=True)
    return pool


# --- permissions ---------------------------------------------------------------------------------------------


def _require_tenant_user(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.tenant_id):
        raise PermissionDenied


def can_edit(user: User, customer: Customer) -> bool:
    return Customer.objects.editable_by(user).filter(pk=customer.pk).exists()


def can_manage(user: User, customer: Customer) -> bool:
    """Transfer, share and delete: the owner's manager or an admin (and the owner for share/delete)."""
    return Customer.objects.managed_by(user).filter(pk=customer.pk).exists()


def require_edit(user: User, customer: Customer) -> None:
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may see this customer but not change it."))


# --- identifiers (防撞单) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str
    field: str


def identifiers_of(customer_data: dict[str, Any], contacts: Iterable[dict[str, Any]]) -> list[Identifier]:
    found: dict[tuple[str, str], Identifier] = {}

    def add(kind: str, value: str, field: str) -> None:
        if value and (kind, value) not in found:
            found[(kind, value)] = Identifier(kind, value, field)

    if customer_data.get("kind", Customer.Kind.COMPANY) == Customer.Kind.COMPANY:
        add(CustomerIdentifier.Kind.COMPANY, normalize_company_name(customer_data.get("name", "")), "name")
    add(CustomerIdentifier.Kind.CREDIT_CODE, normalize_credit_code(customer_data.get("credit_code", "")), "credit_code")
    for contact in contacts:
        for field in ("mobile", "phone"):
            if contact.get(field):
                add(CustomerIdentifier.Kind.PHONE, contact[field], field)
        if contact.get("email"):
            add(CustomerIdentifier.Kind.EMAIL, normalize_email(contact["email"]), "email")
    return list(found.values())


def describe_holder(holder: Customer, user: User | None) -> str:
    """Who holds a customer, saying no more than `user` may see: its name only if visible to them."""
    visible = user is not None and Customer.objects.visible_to(user).filter(pk=holder.pk).exists()
    if holder.owner_id is None:
        where = _("in the pool “%(pool)s”") % {"pool": holder.pool.name}
    else:
        where = _("held by %(owner)s") % {"owner": holder.owner.full_name}
    if visible:
        return _("customer “%(name)s”, %(where)s") % {"name": holder.name, "where": where}
    return _("an existing customer %(where)s") % {"where": where}


KIND_LABELS = {
    CustomerIdentifier.Kind.PHONE: lambda: _("This phone number"),
    CustomerIdentifier.Kind.EMAIL: lambda: _("This email"),
    CustomerIdentifier.Kind.COMPANY: lambda: _("This company name"),
    CustomerIdentifier.Kind.CREDIT_CODE: lambda: _("This unified social credit code"),
}


def find_duplicate(tenant: Tenant, identifiers: list[Identifier], exclude_pk: int | None = None):
    if not identifiers:
        return None
    query = Q()
    for ident in identifiers:
        query |= Q(kind=ident.kind, value=ident.value)
    taken = (
        CustomerIdentifier.objects.for_tenant(tenant).filter(query).select_related("customer__owner", "customer__pool")
    )
    if exclude_pk is not None:
        taken = taken.exclude(customer_id=exclude_pk)
    row = taken.first()
    if row is None:
        return None
    ident = next(i for i in identifiers if i.kind == row.kind and i.value == row.value)
    return ident, row.customer


def duplicate_error(ident: Identifier, holder: Customer, user: User | None) -> DuplicateCustomer:
    message = _("%(what)s already belongs to %(holder)s.") % {
        "what": KIND_LABELS[ident.kind](),
        "holder": describe_holder(holder, user),
    }
    return DuplicateCustomer(message, field=ident.field, holder=holder)


def _write_identifiers(customer: Customer, identifiers: list[Identifier], user: User | None) -> None:
    """Replace the customer's identifier rows. The unique index decides races: the loser gets the same message."""
    CustomerIdentifier.objects.filter(customer=customer).delete()
    duplicate = find_duplicate(customer.tenant, identifiers, exclude_pk=customer.pk)
    if duplicate:
        raise duplicate_error(*duplicate, user)
    try:
        with transaction.atomic():
            CustomerIdentifier.objects.bulk_create(
                [
                    CustomerIdentifier(tenant_id=customer.tenant_id, customer=customer, kind=i.kind, value=i.value)
                    for i in identifiers
                ]
            )
    except IntegrityError as exc:
        duplicate = find_duplicate(customer.tenant, identifiers, exclude_pk=customer.pk)
        if duplicate:
            raise duplicate_error(*duplicate, user) from exc
        raise


def _contact_rows(customer: Customer) -> list[dict[str, Any]]:
    return list(Contact.objects.filter(customer=customer).values("mobile", "phone", "email"))


def sync_identifiers(customer: Customer, user: User | None) -> None:
    data = {"kind": customer.kind, "name": customer.name, "credit_code": customer.credit_code}
    _write_identifiers(customer, identifiers_of(data, _contact_rows(customer)), user)


# --- validation helpers --------------------------------------------------------------------------------------


def clean_phone(value: str, tenant: Tenant, field: str) -> str:
    if not value:
        return ""
    normalized = normalize_phone(value, tenant.phone_region or "CN")
    if normalized is None:
        raise DomainError(_("“%(value)s” is not a valid phone number.") % {"value": value}, field=field)
    return normalized


def _clean_contact(data: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    cleaned = {k: data.get(k) for k in CONTACT_FIELDS if k in data}
    cleaned["name"] = (cleaned.get("name") or "").strip()
    if not cleaned["name"]:
        raise DomainError(_("A contact needs a name."), field="contact_name")
    for field in ("mobile", "phone"):
        cleaned[field] = clean_phone(cleaned.get(field) or "", tenant, field)
    cleaned["email"] = normalize_email(cleaned.get("email") or "")
    birthday = cleaned.get("birthday")
    if birthday and birthday > timezone.localdate():
        raise DomainError(_("A birthday cannot be in the future."), field="birthday")
    return cleaned


def _check_refs(
    tenant: Tenant,
    *,
    level: CustomerLevel | None = None,
    owner: User | None = None,
    pool: Pool | None = None,
    tags: Iterable[Tag] = (),
) -> None:
    if level is not None and level.tenant_id != tenant.pk:
        raise DomainError(_("Choose a level of your company."), field="level")
    if owner is not None and (owner.tenant_id != tenant.pk or not owner.is_active):
        raise DomainError(_("Choose an active colleague as owner."), field="owner")
    if pool is not None and pool.tenant_id != tenant.pk:
        raise DomainError(_("Choose a pool of your company."), field="pool")
    for tag in tags:
        if tag.tenant_id != tenant.pk:
            raise DomainError(_("Choose tags of your company."), field="tags")


def _set_search_fields(customer: Customer) -> None:
    customer.name = customer.name.strip()
    customer.name_pinyin, customer.name_initials = pinyin_forms(customer.name)
    customer.credit_code = normalize_credit_code(customer.credit_code or "")


def _record(
    customer: Customer,
    *,
    reason: str,
    actor: User | None,
    from_owner=None,
    to_owner=None,
    note: str = "",
    from_pool=None,
    to_pool=None,
) -> OwnershipEvent:
    return OwnershipEvent.objects.create(
        tenant_id=customer.tenant_id,
        customer=customer,
        from_owner=from_owner,
        to_owner=to_owner,
        from_pool=from_pool,
        to_pool=to_pool,
        reason=reason,
        note=note[:500],
        actor=actor,
    )


# --- customers -----------------------------------------------------------------------------------------------


def customer_create(
    *,
    acting_user: User,
    data: dict[str, Any],
    contact: dict[str, Any] | None = None,
    owner: User | None = None,
    to_pool: Pool | None = None,
    tags: Iterable[Tag] = (),
    reason: str = OwnershipEvent.Reason.CREATE,
    note: str = "",
    assign_by_rules: bool = False,
) -> Customer:
    """Create a customer (and its first contact). Reps create for themselves; managers and admins may choose
    another owner, put it straight into a pool, or let the assignment rules choose (`assign_by_rules`, with no owner
    and no pool given). Refused with who holds it if an identifier is taken."""
    _require_tenant_user(acting_user)
    tenant = acting_user.tenant
    tags = list(tags)
    if assign_by_rules:
        if owner is not None or to_pool is not None:
            raise ValueError("assign_by_rules chooses the owner and pool itself")
        if not acting_user.has_any_role(Role.ADMIN, Role.MANAGER):
            raise PermissionDenied(_("Only managers and administrators let the assignment rules choose the owner."))
    elif owner is None and to_pool is None:
        owner = acting_user
    if owner is not None and owner.pk != acting_user.pk and not acting_user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators create customers for someone else."))
    values = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    _check_refs(tenant, level=values.get("level"), owner=owner, pool=to_pool, tags=tags)
    contact_data = _clean_contact(contact, tenant) if contact and (contact.get("name") or "").strip() else None
    if contact_data is not None:
        contact_data["is_primary"] = True
    with transaction.atomic():
        now = timezone.now()
        assigner = decision = None
        if assign_by_rules:
            from .assignment import CUSTOMER, Assigner, customer_attrs, rules_of

            # The matching rules' round-robin rows and reps stay locked until this transaction commits (fair turns).
            attrs = customer_attrs(values, tags)
            matching = [s for _rule, s in rules_of(tenant) if s.applies(CUSTOMER) and s.matches(attrs)]
            assigner = Assigner(tenant=tenant, rules=matching, now=now, lock=True)
            decision = assigner.choose(CUSTOMER, attrs)
            owner = decision.owner
            if owner is None:
                to_pool = Pool.objects.get(tenant=tenant, pk=decision.pool_id)
            elif decision.rule is not None:
                reason, note = OwnershipEvent.Reason.ASSIGN, decision.rule.name
        customer = Customer(
            tenant=tenant,
            created_by=acting_user,
            owner=owner,
            owned_since=now if owner else None,
            pool=to_pool or default_pool(tenant),
            **values,
        )
        _set_search_fields(customer)
        customer.full_clean(exclude=["tenant", "pool", "owner", "level", "created_by"])
        customer.save()
        if contact_data is not None:
            Contact.objects.create(tenant=tenant, customer=customer, created_by=acting_user, **contact_data)
        sync_identifiers(customer, acting_user)
        if tags:
            CustomerTag.objects.bulk_create([CustomerTag(tenant=tenant, customer=customer, tag=t) for t in tags])
        _record(
            customer,
            reason=reason,
            actor=acting_user,
            to_owner=owner,
            to_pool=None if owner else customer.pool,
            note=note,
        )
        details = {"owner": owner.pk if owner else None}
        if assigner is not None:
            details["rule"] = decision.rule.pk if decision.rule else None
            assigner.log(decision, customer.pk)
            assigner.flush()
            if owner is not None and owner.pk != acting_user.pk:
                from .assignment import notify_new_owners

                notify_new_owners({owner.pk: [(decision.kind, customer.name, decision.rule.name)]})
        audit(tenant=tenant, actor=acting_user, action="customer.create", obj=customer, details=details)
    return customer


def customer_update(
    *, acting_user: User, customer: Customer, data: dict[str, Any], tags: Iterable[Tag] | None = None
) -> Customer:
    require_edit(acting_user, customer)
    tenant = customer.tenant
    values = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    _check_refs(tenant, level=values.get("level"), tags=tags or ())
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = {k: getattr(customer, k) for k in values}
        for key, value in values.items():
            setattr(customer, key, value)
        _set_search_fields(customer)
        customer.full_clean(exclude=["tenant", "pool", "owner", "level", "created_by"])
        customer.save()
        sync_identifiers(customer, acting_user)
        if tags is not None:
            tags = list(tags)
            CustomerTag.objects.filter(customer=customer).exclude(tag__in=tags).delete()
            existing = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
            CustomerTag.objects.bulk_create(
                [CustomerTag(tenant=tenant, customer=customer, tag=t) for t in tags if t.pk not in existing]
            )
        changes = {
            k: [str(before[k] or ""), str(getattr(customer, k) or "")]
            for k in values
            if before[k] != getattr(customer, k)
        }
        if changes:
            audit(tenant=tenant, actor=acting_user, action="customer.update", obj=customer, details=changes)
    return customer


# --- contacts ------------------------------------------------------------------------------------------------


def contact_save(
    *, acting_user: User, customer: Customer, data: dict[str, Any], contact: Contact | None = None
) -> Contact:
    """Add or change a contact; its phones and email are checked against every other live customer."""
    require_edit(acting_user, customer)
    tenant = customer.tenant
    cleaned = _clean_contact(data, tenant)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if cleaned.get("is_primary"):
            Contact.objects.filter(customer=customer, is_primary=True).exclude(
                pk=contact.pk if contact else None
            ).update(is_primary=False)
        elif (
            not Contact.objects.filter(customer=customer, is_primary=True)
            .exclude(pk=contact.pk if contact else None)
            .exists()
        ):
            cleaned["is_primary"] = True  # the only contact is the primary one
        if contact is None:
            contact = Contact.objects.create(tenant=tenant, customer=customer, created_by=acting_user, **cleaned)
            action = "contact.create"
        else:
            if contact.customer_id != customer.pk:
                raise PermissionDenied
            for key, value in cleaned.items():
                setattr(contact, key, value)
            contact.save()
            action = "contact.update"
        sync_identifiers(customer, acting_user)
        audit(tenant=tenant, actor=acting_user, action=action, obj=contact, details={"customer": customer.pk})
    return contact


def contact_delete(*, acting_user: User, contact: Contact) -> None:
    customer = contact.customer
    require_edit(acting_user, customer)
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        was_primary = contact.is_primary
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="contact.delete",
            obj=contact,
            details={"customer": customer.pk, "name": contact.name},
        )
        contact.delete()
        if was_primary:
            nxt = Contact.objects.filter(customer=customer).order_by("pk").first()
            if nxt:
                nxt.is_primary = True
                nxt.save(update_fields=["is_primary"])
        sync_identifiers(customer, acting_user)


# --- sharing -------------------------------------------------------------------------------------------------


def _share_permissions() -> dict[str, Permission]:
    perms = Permission.objects.filter(
        content_type__app_label="customers", codename__in=["view_customer", "change_customer"]
    )
    return {p.codename: p for p in perms}


def customer_share(*, acting_user: User, customer: Customer, with_user: User, can_change: bool = False) -> None:
    """Share with a colleague (read, or read + edit) through guardian's direct-FK permission rows."""
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator shares a customer."))
    if with_user.tenant_id != customer.tenant_id or not with_user.is_active:
        raise DomainError(_("Choose an active colleague."), field="user")
    if with_user.pk == customer.owner_id:
        raise DomainError(_("The owner already sees this customer."), field="user")
    perms = _share_permissions()
    wanted = ["view_customer", "change_customer"] if can_change else ["view_customer"]
    with transaction.atomic():
        CustomerUserObjectPermission.objects.filter(content_object=customer, user=with_user).exclude(
            permission__codename__in=wanted
        ).delete()
        for codename in wanted:
            CustomerUserObjectPermission.objects.get_or_create(
                tenant_id=customer.tenant_id, content_object=customer, user=with_user, permission=perms[codename]
            )
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="customer.share",
            obj=customer,
            details={"user": with_user.pk, "change": can_change},
        )


def customer_unshare(*, acting_user: User, customer: Customer, with_user: User) -> None:
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator shares a customer."))
    with transaction.atomic():
        CustomerUserObjectPermission.objects.filter(content_object=customer, user=with_user).delete()
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="customer.unshare",
            obj=customer,
            details={"user": with_user.pk},
        )


# --- transfer ------------------------------------------------------------------------------------------------


def customer_transfer(*, acting_user: User, customers: Iterable[Customer], to_owner: User, reason: str) -> int:
    """Managers (within their teams) and admins hand customers to another rep, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the customers change hands."), field="reason")
    tenant = acting_user.tenant
    _check_refs(tenant, owner=to_owner)
    ids = [c.pk for c in customers]
    with transaction.atomic():
        locked = list(Customer.objects.managed_by(acting_user).filter(pk__in=ids).select_for_update().order_by("pk"))
        if len(locked) != len(set(ids)):
            raise PermissionDenied(_("You may only transfer customers of your teams."))
        now = timezone.now()
        moved = 0
        for customer in locked:
            if customer.owner_id == to_owner.pk:
                continue
            previous = customer.owner
            customer.owner, customer.owned_since = to_owner, now
            customer.save(update_fields=["owner", "owned_since", "updated_at"])
            _record(
                customer,
                reason=OwnershipEvent.Reason.TRANSFER,
                actor=acting_user,
                from_owner=previous,
                to_owner=to_owner,
                note=reason,
            )
            moved += 1
        audit(
            tenant=tenant,
            actor=acting_user,
            action="customer.transfer",
            details={"customers": ids, "to": to_owner.pk, "reason": reason},
        )
    return moved


# --- recycle bin ---------------------------------------------------------------------------------------------


def customer_trash(*, acting_user: User, customer: Customer) -> Customer:
    """Move to the recycle bin: hidden everywhere, its identifiers freed, restorable for TRASH_DAYS days."""
    if not (customer.owner_id == acting_user.pk or can_manage(acting_user, customer)):
        raise PermissionDenied(_("Only the owner, their manager or an administrator deletes a customer."))
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at:
            return customer
        customer.deleted_at, customer.deleted_by = timezone.now(), acting_user
        customer.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        CustomerIdentifier.objects.filter(customer=customer).delete()
        _record(
            customer,
            reason=OwnershipEvent.Reason.DELETE,
            actor=acting_user,
            from_owner=customer.owner,
            to_owner=customer.owner,
        )
        audit(tenant=customer.tenant, actor=acting_user, action="customer.trash", obj=customer)
    return customer


def customer_restore(*, acting_user: User, customer: Customer) -> Customer:
    """Bring back from the bin, re-checking its identifiers against customers created meanwhile."""
    if not Customer.objects.in_trash_for(acting_user).filter(pk=customer.pk).exists():
        raise PermissionDenied
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at is None:
            return customer
        if customer.deleted_at < timezone.now() - timezone.timedelta(days=TRASH_DAYS):
            raise DomainError(
                _("This customer was deleted more than %(days)d days ago and can no longer be restored.")
                % {"days": TRASH_DAYS}
            )
        customer.deleted_at, customer.deleted_by = None, None
        customer.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        sync_identifiers(customer, acting_user)
        _record(
            customer,
            reason=OwnershipEvent.Reason.RESTORE,
            actor=acting_user,
            from_owner=customer.owner,
            to_owner=customer.owner,
        )
        audit(tenant=customer.tenant, actor=acting_user, action="customer.restore", obj=customer)
    return customer


def purge_trash(*, tenant: Tenant, now=None) -> int:
    """Remove customers deleted more than TRASH_DAYS ago, with their history; one audit event each."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(days=TRASH_DAYS)
    with transaction.atomic():
        doomed = list(
            Customer.objects.for_tenant(tenant)
            .filter(deleted_at__lt=cutoff)
            .select_for_update(skip_locked=True)
            .values_list("pk", "name")
        )
        if not doomed:
            return 0
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    tenant=tenant,
                    actor=None,
                    action="customer.purge",
                    object_type="customers.customer",
                    object_id=str(pk),
                    object_repr=name[:255],
                    details={"after_days": TRASH_DAYS},
                )
                for pk, name in doomed
            ]
        )
        ids = [pk for pk, _name in doomed]
        OwnershipEvent.objects.filter(customer_id__in=ids).delete()
        Customer.objects.filter(pk__in=ids).delete()
    return len(ids)


# --- facts kept for the pool (called by sales, so customers never imports sales) -------------------------------


def record_follow_up(*, customer_id: int, at, tenant_id: int) -> None:
    """A follow-up happened at `at`: move last_followed_up_at forward (never back), in one conditional UPDATE."""
    Customer.objects.filter(pk=customer_id, tenant_id=tenant_id).filter(
        Q(last_followed_up_at__isnull=True) | Q(last_followed_up_at__lt=at)
    ).update(last_followed_up_at=at, updated_at=timezone.now())


def record_deal(*, customer_id: int, at, tenant_id: int) -> None:
    """A deal (order, won opportunity) happened at `at`: move last_deal_at forward, never back."""
    Customer.objects.filter(pk=customer_id, tenant_id=tenant_id).filter(
        Q(last_deal_at__isnull=True) | Q(last_deal_at__lt=at)
    ).update(last_deal_at=at, updated_at=timezone.now())
