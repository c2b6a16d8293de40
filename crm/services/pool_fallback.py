"""What the customer and the lead fall-back jobs share: the one set-based statement that moves every due record back
to its pool with its ownership events, and the digests to the former owners (customers/services/fallback.py,
sales/services/lead_fallback.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from crm.models import User
from crm.services.notification import Note, notify_many


@dataclass(frozen=True)
class FallbackTables:
    """The tables of one kind of pooled record: the records (with owner_id, owned_since, extension_days, name) and
    their ownership events, which point at them through `event_fk`."""

    records: str
    events: str
    event_fk: str
    # More columns the move sets: to NULL (a pooled record's stored fall-back moment) and to the move's time (when it
    # came to the pool).
    null_columns: tuple[str, ...] = ()
    now_columns: tuple[str, ...] = ()

    def also_set(self) -> str:
        return "".join(f"{c} = NULL, " for c in self.null_columns) + "".join(f"{c} = %s, " for c in self.now_columns)


CUSTOMERS = FallbackTables(
    records="customers_customer",
    events="customers_ownershipevent",
    event_fk="customer_id",
    null_columns=("fallback_at",),
    now_columns=("pooled_at",),
)
LEADS = FallbackTables(records="sales_lead", events="sales_leadownershipevent", event_fk="lead_id")


def fallback_move(
    *, tables: FallbackTables, tenant_id: int, pool_id: int, due: QuerySet, now: dt.datetime
) -> dict[int, list[tuple[int, str]]]:
    """Move the records `due` selects (the predicate's queryset over `tables.records`, every condition on the
    record's own columns) back to pool `pool_id` in one statement, and insert an event for each.

    The predicate itself locks the rows (FOR UPDATE SKIP LOCKED): a row another transaction holds is skipped, and a
    row changed since the statement's snapshot is locked in its latest version and the predicate re-checked on it,
    so only rows due as they now stand are taken. The UPDATE then reaches exactly those row versions by their
    physical address (a TID scan in table order, no join over the table) and only while they are still owned; a
    second or concurrent run moves nothing twice. Returns the moved records by former owner:
    {owner_id: [(id, name), …]}."""
    due_sql, due_params = (
        due.order_by()
        .select_for_update(skip_locked=True, of=("self",))
        # The row version's address, which the UPDATE reaches directly (our own table name, no input).
        .annotate(row_address=RawSQL(f"{tables.records}.ctid", ()))  # noqa: S611
        .values_list("row_address", "pk", "owner_id")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due (row_address, id, owner_id) AS ({due_sql}), moved AS (
                UPDATE {tables.records} r
                SET owner_id = NULL, owned_since = NULL, extension_days = 0, {tables.also_set()}updated_at = %s
                WHERE r.ctid = ANY(ARRAY(SELECT due.row_address FROM due)) AND r.owner_id IS NOT NULL
                RETURNING r.id, r.name
            ), former AS (
                SELECT moved.id, due.owner_id, moved.name FROM moved JOIN due ON due.id = moved.id
            ), events AS (
                INSERT INTO {tables.events}
                    (tenant_id, {tables.event_fk}, from_owner_id, to_owner_id, from_pool_id, to_pool_id, reason,
                     note, actor_id, at, created_at, updated_at, created_by_id)
                SELECT %s, former.id, former.owner_id, NULL, NULL, %s, 'fallback', '', NULL, %s, %s, %s, NULL
                FROM former
                RETURNING {tables.event_fk}
            )
            SELECT former.id, former.owner_id, former.name FROM former
            """,  # noqa: S608 - our table names and Django's own compiled SQL, values as parameters
            [*due_params, *[now] * len(tables.now_columns), now, tenant_id, pool_id, now, now, now],
        )
        rows = cursor.fetchall()
    moved: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for record_id, owner_id, name in rows:
        moved[owner_id].append((record_id, name))
    return moved


def fallback_digests(
    *,
    tenant_id: int,
    moved: dict[int, list[tuple[int, str]]],
    title: Callable[[int], Any],
    url: str,
    key: Callable[[int, list[tuple[int, str]]], str],
    email: bool = True,
) -> None:
    """One digest per former owner (the first 50 names), all in a few statements (notify_many): `title(count)` and
    `key(owner_id, items)` make each one's title and idempotency key."""
    owners = User.objects.filter(tenant_id=tenant_id, pk__in=list(moved))
    notify_many(
        tenant_id=tenant_id,
        notes=[
            Note(
                recipient=owner,
                title=title(len(moved[owner.pk])),
                body="\n".join(name for _pk, name in moved[owner.pk][:50]),
                url=url,
                key=key(owner.pk, moved[owner.pk]),
                email=email,
            )
            for owner in owners
        ],
    )
