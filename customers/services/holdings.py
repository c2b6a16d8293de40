"""The holdings cap: how many live customers one rep may hold (the tenant's `max_customers_per_rep`).

One rule, one check: every path that gives a rep customers — creating, importing, converting a lead, claiming,
assigning from the pool, transferring, restoring from the recycle bin and the assignment rules — asks `fits` (the
rule) through `holdings_check` (the refusal), so none of them lets a rep pass the cap that another one enforces.
A merge never adds to anyone's holdings: the merged customer goes to the recycle bin."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Tenant, User
from customers.models import Customer


class HoldingsCapReached(DomainError):
    """Taking these customers would put a rep past the company's holdings cap."""


def holdings_of(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Live customers each user holds (users holding none are left out): what the cap limits. One query."""
    if not user_ids:
        return {}
    rows = (
        Customer.objects.filter(
            tenant_id=tenant_id, owner_id__in=user_ids, owner__isnull=False, deleted_at__isnull=True
        )
        .order_by()
        .values_list("owner_id")
        .annotate(n=Count("*"))  # not the primary key: counted off the owner index alone where it is all-visible
    )
    return dict(rows)


def fits(tenant: Tenant, held: int, adding: int = 1) -> bool:
    """The rule: a rep holding `held` customers may take `adding` more."""
    room = room_left(tenant, held)
    return room is None or adding <= room


def room_left(tenant: Tenant, held: int) -> int | None:
    """How many more customers a rep holding `held` may take; None when the company sets no cap."""
    cap = tenant.max_customers_per_rep
    return None if cap is None else max(cap - held, 0)


def holdings_room(rep: User, *, lock: bool = False) -> int | None:
    """How many more customers `rep` may take now (None: no cap). `lock=True` (inside a transaction) locks the rep's
    row first, as every path that gives them customers does, so the answer holds until the transaction ends."""
    tenant = rep.tenant
    if tenant.max_customers_per_rep is None:
        return None
    if lock:
        User.objects.select_for_update().filter(pk=rep.pk).values_list("pk").first()
    return room_left(tenant, holdings_of(tenant.pk, [rep.pk]).get(rep.pk, 0))


def holdings_check(*, rep: User, adding: int = 1, field: str = "owner") -> None:
    """Refuse (HoldingsCapReached, on `field`) when `rep` may not take `adding` more customers. Called inside the
    caller's transaction: the rep's row is locked first, as every path that gives them customers locks it, so two
    concurrent paths never pass the cap together."""
    if adding <= 0:
        return
    room = holdings_room(rep, lock=transaction.get_connection().in_atomic_block)
    if room is None or adding <= room:  # the rule of `fits`
        return
    cap = rep.tenant.max_customers_per_rep
    if adding == 1:
        message = _("%(name)s already holds %(cap)d customers, the most one rep may hold.")
    else:
        message = _("%(name)s would hold more than %(cap)d customers.")
    raise HoldingsCapReached(message % {"name": rep.full_name or rep.email, "cap": cap}, field=field)
