"""The holdings cap: how many live customers one rep may hold (the tenant's `max_customers_per_rep`).

One rule, one check: every path that gives a rep customers — creating, importing, converting a lead, claiming,
assigning from the pool, transferring, restoring from the recycle bin and the assignment rules — asks `fits` (the
rule) through `holdings_check` (the refusal), so none of them lets a rep pass the cap that another one enforces.
A merge never adds to anyone's holdings: the merged customer goes to the recycle bin.

What a rep holds is read off `Holding`, the count the database keeps per owner by triggers on the customers, rather
than counted over the customers table on every check and page; `holdings_drift` and `holdings_repair` compare it
with a real count and put it right (`manage.py holdings`)."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Tenant, User
from customers.models import Holding


class HoldingsCapReached(DomainError):
    """Taking these customers would put a rep past the company's holdings cap."""


def holdings_of(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Live customers each user holds (users holding none are left out): what the cap limits. One query, on the
    maintained count: it reads what a count of the customers would read at this moment, the caller's own writes
    included (the triggers run inside the writing statement)."""
    if not user_ids:
        return {}
    rows = Holding.objects.filter(tenant_id=tenant_id, owner_id__in=user_ids).exclude(held=0)
    return dict(rows.values_list("owner_id", "held"))


# Per owner of the tenant, the maintained count beside a real count of its live owned customers, where they differ.
# One statement, so both are read in one snapshot: a write committing meanwhile is in neither or in both.
_DRIFT = """
    WITH counted AS (
        SELECT owner_id, count(*) AS n FROM customers_customer
        WHERE tenant_id = %(tenant)s AND owner_id IS NOT NULL AND deleted_at IS NULL
        GROUP BY owner_id
    ), kept AS (
        SELECT owner_id, held FROM customers_holding WHERE tenant_id = %(tenant)s
    ), drift AS (
        SELECT COALESCE(c.owner_id, k.owner_id) AS owner_id, COALESCE(k.held, 0) AS held, COALESCE(c.n, 0) AS counted
        FROM counted c FULL JOIN kept k ON k.owner_id = c.owner_id
        WHERE COALESCE(k.held, 0) <> COALESCE(c.n, 0)
    )
"""


def holdings_drift(tenant_id: int) -> list[tuple[int, int, int]]:
    """(owner id, maintained count, real count) of every owner of the tenant whose two differ, by owner id."""
    sql = _DRIFT + "SELECT owner_id, held, counted FROM drift ORDER BY owner_id"  # noqa: S608 - constants only
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": tenant_id})
        return cursor.fetchall()


def holdings_repair(tenant_id: int) -> int:
    """Put the maintained count right for every owner of the tenant whose count drifted; return how many. Adds each
    drift (real count minus maintained count, both read in one snapshot) to the row as it stands when written, so a
    transaction moving customers meanwhile keeps its own change: safe beside live traffic, without a lock on the
    customers."""
    sql = _DRIFT + (  # noqa: S608 - constants only
        "INSERT INTO customers_holding (tenant_id, owner_id, held) "
        "SELECT %(tenant)s, owner_id, counted - held FROM drift ORDER BY owner_id "
        "ON CONFLICT (tenant_id, owner_id) DO UPDATE SET held = customers_holding.held + EXCLUDED.held"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": tenant_id})
        return cursor.rowcount


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
