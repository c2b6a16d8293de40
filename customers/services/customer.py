"""Writes of customers: create (by hand or by the assignment rules), update, and the two facts the pool lives
on (follow-ups and deals), which later apps record through `record_follow_up` and `record_deal`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_sales_user, sales_assignable_users
from crm.api.services.custom_field import custom_values_clean
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import Role, Tenant, User
from crm.services.audit import audit
from customers.access import lock_customer_for_change
from customers.models import (
    ChoiceKind,
    Contact,
    Customer,
    CustomerLevel,
    CustomerTag,
    OwnershipEvent,
    Pool,
    Tag,
)
from customers.normalize import (
    normalize_credit_code,
    pinyin_forms,
)
from customers.selectors.choice_list import ChoiceLookup
from customers.services.assignment import CUSTOMER, Assigner, customer_attrs, notify_new_owners, rules_of
from customers.services.contact import clean_contact
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_check
from customers.services.identifier import sync_identifiers
from customers.services.tenant import default_pool

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


def check_refs(
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


def _check_lists(tenant: Tenant, values: dict[str, Any], current: Customer | None = None) -> None:
    """Region, industry and source as the company's value lists store them; every refusal at once. A value the
    customer already has stays allowed (an old value outside a list is kept until someone changes it)."""
    lookup = None
    errors = []
    for kind in ChoiceKind.values:
        text = str(values.get(kind) or "").strip()
        if kind not in values or not text or (current is not None and text == getattr(current, kind)):
            continue
        lookup = lookup or ChoiceLookup(tenant)
        values[kind], error = lookup.resolve(kind, text)
        if error:
            errors.append((kind, error))
    if errors:
        raise DomainError.of(errors)


def check_owner(acting_user: User, owner: User, field: str = "owner") -> None:
    """A customer goes only to a sales colleague `acting_user` may act for (never to a service agent)."""
    if not sales_assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("Choose a sales colleague of a team you manage as owner."), field=field)


def _set_search_fields(customer: Customer) -> None:
    customer.name = customer.name.strip()
    customer.name_pinyin, customer.name_initials = pinyin_forms(customer.name)
    customer.credit_code = normalize_credit_code(customer.credit_code or "")


def record_ownership_event(
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
    require_sales_user(acting_user)
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
    if owner is not None and owner.pk != acting_user.pk:
        check_owner(acting_user, owner)
    values = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    _check_lists(tenant, values)
    if "custom" in data:
        values["custom"] = custom_values_clean(tenant_id=tenant.pk, kind="customer", values=data["custom"])
    check_refs(tenant, level=values.get("level"), owner=owner, pool=to_pool, tags=tags)
    contact_data = clean_contact(contact, tenant) if contact and (contact.get("name") or "").strip() else None
    if contact_data is not None:
        contact_data["is_primary"] = True
    with transaction.atomic():
        now = timezone.now()
        assigner = decision = None
        if assign_by_rules:
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
        if owner is not None:
            holdings_check(rep=owner)
        customer = Customer(
            tenant=tenant,
            created_by=acting_user,
            owner=owner,
            owned_since=now if owner else None,
            pooled_at=None if owner else now,
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
        record_ownership_event(
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
                notify_new_owners({owner.pk: [(decision.kind, customer.name, decision.rule.name)]})
        fallback_at_refresh(tenant=tenant, ids=[customer.pk])
        audit(tenant=tenant, actor=acting_user, action="customer.create", obj=customer, details=details)
        webhook_emit(tenant_id=tenant.pk, event="customer.created", data=customer_event_data(customer))
    return customer


def customer_event_data(customer: Customer) -> dict[str, Any]:
    """What a webhook tells of a customer (the API has the rest: /api/v1/customers/<id>/)."""
    return {
        "id": customer.pk,
        "name": customer.name,
        "status": customer.status,
        "owner": customer.owner_id,
        "pool": customer.pool_id,
        "updated_at": customer.updated_at,
    }


def customer_update(
    *, acting_user: User, customer: Customer, data: dict[str, Any], tags: Iterable[Tag] | None = None
) -> Customer:
    tenant = customer.tenant
    values = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    _check_lists(tenant, values, current=customer)
    check_refs(tenant, level=values.get("level"), tags=tags or ())
    with transaction.atomic():
        customer = lock_customer_for_change(acting_user, customer.pk)
        if "custom" in data:
            # Only the keys given change; archived fields' values stay (custom_values_clean).
            values["custom"] = custom_values_clean(
                tenant_id=tenant.pk, kind="customer", values=data["custom"], existing=customer.custom
            )
        before = {k: getattr(customer, k) for k in values}
        for key, value in values.items():
            setattr(customer, key, value)
        _set_search_fields(customer)
        customer.full_clean(exclude=["tenant", "pool", "owner", "level", "created_by"])
        customer.save()
        # Its level or key-account flag may change its date.
        fallback_at_refresh(tenant=tenant, ids=[customer.pk])
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
            webhook_emit(
                tenant_id=tenant.pk,
                event="customer.updated",
                data={**customer_event_data(customer), "changed": sorted(changes)},
            )
    return customer


def record_follow_up(*, customer_id: int, at, tenant_id: int) -> None:
    """A follow-up happened at `at`: move last_followed_up_at forward (never back), in one conditional UPDATE, and
    the fall-back date with it."""
    with transaction.atomic(savepoint=False):
        if (
            Customer.objects.filter(pk=customer_id, tenant_id=tenant_id)
            .filter(Q(last_followed_up_at__isnull=True) | Q(last_followed_up_at__lt=at))
            .update(last_followed_up_at=at, updated_at=timezone.now())
        ):
            fallback_at_refresh(tenant=tenant_id, ids=[customer_id])


def record_deal(*, customer_id: int, at, tenant_id: int) -> None:
    """A deal (order, won opportunity) happened at `at`: move last_deal_at forward, never back, and the fall-back
    date with it."""
    with transaction.atomic(savepoint=False):
        if (
            Customer.objects.filter(pk=customer_id, tenant_id=tenant_id)
            .filter(Q(last_deal_at__isnull=True) | Q(last_deal_at__lt=at))
            .update(last_deal_at=at, updated_at=timezone.now())
        ):
            fallback_at_refresh(tenant=tenant_id, ids=[customer_id])
