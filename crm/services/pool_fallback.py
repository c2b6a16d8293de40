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
    *, tables: FallbackTables, tenant_id: int, pool_id: int, due: tuple[str, Any], now: dt.datetime
) -> dict[int, list[tuple[int, str]]]:
    """Move the records `due` selects (Django's compiled SQL of the predicate, selecting ids) back to pool `pool_id`
    in one statement: the due rows are locked (rows another run holds are skipped), unowned, and an event is
    inserted for each. Only rows still held by the owner the predicate saw move, so a second or concurrent run
    moves nothing twice. Returns the moved records by former owner: {owner_id: [(id, name), …]}."""
    due_sql, due_params = due
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT r.id, r.owner_id FROM {tables.records} r
                WHERE r.id IN ({due_sql}) AND r.owner_id IS NOT NULL
                FOR UPDATE SKIP LOCKED
            ), moved AS (
                UPDATE {tables.records} r
                SET owner_id = NULL, owned_since = NULL, extension_days = 0, {tables.also_set()}updated_at = %s
                FROM due WHERE r.id = due.id AND r.owner_id = due.owner_id
                RETURNING r.id, due.owner_id, r.name
            ), events AS (
                INSERT INTO {tables.events}
                    (tenant_id, {tables.event_fk}, from_owner_id, to_owner_id, from_pool_id, to_pool_id, reason,
                     note, actor_id, at, created_at, updated_at, created_by_id)
                SELECT %s, moved.id, moved.owner_id, NULL, NULL, %s, 'fallback', '', NULL, %s, %s, %s, NULL
                FROM moved
                RETURNING {tables.event_fk}
            )
            SELECT moved.id, moved.owner_id, moved.name FROM moved
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
