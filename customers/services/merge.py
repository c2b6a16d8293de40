"""Merging two customers into one (managers within their teams, admins): contacts, history, follow-ups and
identifiers move to the kept customer; the other goes to the recycle bin; audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.access import may_merge, mergeable_by
from customers.models import (
    Contact,
    Customer,
    CustomerIdentifier,
    CustomerTag,
    CustomerUserObjectPermission,
    OwnershipEvent,
)
from customers.services.customer import record_ownership_event
from customers.services.fallback_date import fallback_at_refresh
from customers.services.identifier import sync_identifiers

# Sent inside the transaction with keep=<Customer>, merged=<Customer>, acting_user=<User>.
customer_merged = Signal()


# Profile fields of `keep` that are filled from `merge` when blank on `keep`.
FILL_FIELDS = ["industry", "region", "source", "credit_code", "address", "website", "level_id"]


@dataclass(frozen=True)
class MergePreview:
    """What merging would give, for the side-by-side page: the profile of the result and what moves."""

    keep: Customer
    merge: Customer
    result: dict[str, object]
    filled: list[str]
    contacts_moving: int
    events_moving: int
    primary_kept: str


def merged_values(keep: Customer, merge: Customer) -> tuple[dict[str, object], list[str]]:
    """The profile values `keep` ends with, and the fields taken from `merge`."""
    values, filled = {}, []
    for field in FILL_FIELDS:
        mine, theirs = getattr(keep, field), getattr(merge, field)
        if not mine and theirs:
            values[field] = theirs
            filled.append(field)
        else:
            values[field] = mine
    values["is_key_account"] = keep.is_key_account or merge.is_key_account
    values["last_followed_up_at"] = _latest(keep.last_followed_up_at, merge.last_followed_up_at)
    values["last_deal_at"] = _latest(keep.last_deal_at, merge.last_deal_at)
    # A contract of either keeps the merged customer covered (and "signed once").
    values["contract_cover_until"] = _latest(keep.contract_cover_until, merge.contract_cover_until)
    return values, filled


def _latest(a, b):
    return max((d for d in (a, b) if d is not None), default=None)


def merge_preview(*, keep: Customer, merge: Customer) -> MergePreview:
    values, filled = merged_values(keep, merge)
    primaries = {
        c.customer_id: c.name
        for c in Contact.objects.filter(customer_id__in=[keep.pk, merge.pk], is_primary=True).only(
            "customer_id", "name"
        )
    }
    return MergePreview(
        keep=keep,
        merge=merge,
        result=values,
        filled=filled,
        contacts_moving=Contact.objects.filter(customer=merge).count(),
        events_moving=OwnershipEvent.objects.filter(customer=merge).count(),
        primary_kept=primaries.get(keep.pk) or primaries.get(merge.pk) or "",
    )


def _refuse(acting_user: User, keep_pk: int, merge_pk: int) -> None:
    """Say why the pair cannot be merged, without telling anything about another tenant's rows."""
    live = Customer.objects.filter(
        pk__in=[keep_pk, merge_pk], tenant_id=acting_user.tenant_id, deleted_at__isnull=True
    ).count()
    if live < 2:
        raise DomainError(_("Choose two live customers of your company."))
    raise PermissionDenied(_("You may only merge customers of your teams."))


def customer_merge(*, acting_user: User, keep: Customer, merge: Customer) -> Customer:
    """Merge `merge` into `keep`. Managers (customers of their teams) and admins only; atomic, both rows locked
    in primary-key order; refused with nothing changed for a customer merged into itself, another tenant's
    customer or one the user may not manage."""
    if not may_merge(acting_user):
        raise PermissionDenied(_("Only managers and administrators merge customers."))
    if keep.pk == merge.pk:
        raise DomainError(_("A customer cannot be merged into itself."))
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in mergeable_by(acting_user)
            .filter(pk__in=[keep.pk, merge.pk])
            .select_for_update(of=("self",))
            .order_by("pk")
        }
        if len(locked) != 2:
            _refuse(acting_user, keep.pk, merge.pk)
        keep, merge = locked[keep.pk], locked[merge.pk]
        tenant_id = keep.tenant_id

        # Contacts: all move; keep's primary stays primary (or merge's becomes keep's only primary).
        contacts_moved = Contact.objects.filter(customer=merge).count()
        if Contact.objects.filter(customer=keep, is_primary=True).exists():
            Contact.objects.filter(customer=merge).update(customer=keep, is_primary=False, updated_at=timezone.now())
        else:
            Contact.objects.filter(customer=merge).update(customer=keep, updated_at=timezone.now())

        # Tags: those keep lacks move; duplicates are dropped.
        keep_tags = CustomerTag.objects.filter(customer=keep).values("tag_id")
        tags_moved = CustomerTag.objects.filter(customer=merge).exclude(tag_id__in=keep_tags).update(customer=keep)
        CustomerTag.objects.filter(customer=merge).delete()

        # Ownership history moves as it is; the merge itself is one more event on keep.
        events_moved = OwnershipEvent.objects.filter(customer=merge).update(customer=keep)

        # Shares: a colleague who saw merge now sees keep (never a second row for the same permission, and never
        # a share with keep's own owner).
        existing = set(
            CustomerUserObjectPermission.objects.filter(content_object=keep).values_list("user_id", "permission_id")
        )
        shares_moved = 0
        for share in CustomerUserObjectPermission.objects.filter(content_object=merge):
            if share.user_id == keep.owner_id or (share.user_id, share.permission_id) in existing:
                share.delete()
            else:
                share.content_object = keep
                share.save(update_fields=["content_object"])
                existing.add((share.user_id, share.permission_id))
                shares_moved += 1

        # Profile: keep's values win; blanks are filled from merge.
        values, filled = merged_values(keep, merge)
        for field, value in values.items():
            setattr(keep, field, value)
        keep.save()

        # Identifiers: merge's are freed first, then keep's are rebuilt from its (now larger) set of contacts.
        CustomerIdentifier.objects.filter(customer=merge).delete()
        sync_identifiers(keep, acting_user)

        now = timezone.now()
        note = _("Merged into “%(name)s” (#%(pk)d) by %(user)s on %(date)s.") % {
            "name": keep.name,
            "pk": keep.pk,
            "user": acting_user.full_name or acting_user.email,
            "date": timezone.localtime(now, keep.tenant.tzinfo).strftime("%Y-%m-%d %H:%M"),
        }
        merge.notes = f"{merge.notes}\n\n{note}".strip()
        merge.deleted_at, merge.deleted_by = now, acting_user
        merge.save(update_fields=["notes", "deleted_at", "deleted_by", "updated_at"])
        if keep.owner_id is None:
            Customer.objects.filter(pk=keep.pk).update(pooled_at=now)
        # keep took merge's latest follow-up, deal and contract cover; merge is binned.
        fallback_at_refresh(tenant=keep.tenant, ids=[keep.pk, merge.pk])
        record_ownership_event(
            merge,
            reason=OwnershipEvent.Reason.MERGE,
            actor=acting_user,
            from_owner=merge.owner,
            to_owner=merge.owner,
            note=note,
        )
        record_ownership_event(
            keep,
            reason=OwnershipEvent.Reason.MERGE,
            actor=acting_user,
            from_owner=keep.owner,
            to_owner=keep.owner,
            note=_("Merged “%(name)s” (#%(pk)d) into this customer.") % {"name": merge.name, "pk": merge.pk},
        )
        customer_merged.send(sender=Customer, keep=keep, merged=merge, acting_user=acting_user)
        audit(
            tenant=keep.tenant,
            actor=acting_user,
            action="customer.merge",
            obj=keep,
            details={
                "merged": merge.pk,
                "merged_name": merge.name,
                "merged_owner": merge.owner_id,
                "contacts": contacts_moved,
                "tags": tags_moved,
                "ownership_events": events_moved,
                "shares": shares_moved,
                "filled": filled,
                "tenant": tenant_id,
            },
        )
    return keep
