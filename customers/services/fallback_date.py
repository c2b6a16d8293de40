"""The stored fall-back date (`Customer.fallback_at`): written from the predicate's own date expression
(customers.selectors.pool.with_fallback_at) in one set-based UPDATE, by every write that changes what the date rests
on — ownership, follow-ups, deals, contract cover, extensions, level, key account, home pool, the bin — and, for a
whole pool, by a change of its rules; checked and repaired per tenant (`manage.py fallback_dates`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from crm.models import Tenant
from customers.models import Customer
from customers.selectors.pool import COMPUTED, with_fallback_at


def _scope(tenant: Tenant, ids: Iterable[int] | None, pool_ids: Iterable[int] | None):
    qs = Customer.objects.filter(tenant_id=tenant.pk)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if pool_ids is not None:
        qs = qs.filter(pool_id__in=list(pool_ids))
    return qs


def fallback_at_refresh(
    *, tenant: Tenant | int, ids: Iterable[int] | None = None, pool_ids: Iterable[int] | None = None
) -> int:
    """Store the computed fall-back moment of the tenant's customers `ids` (or of the customers of `pool_ids`, or of
    all its customers) where it differs from the stored one: one UPDATE … FROM (the predicate's SELECT), so rows
    already right are not rewritten. Returns how many changed. Call it in the transaction of the write."""
    if ids is not None:
        ids = list(ids)
        if not ids:
            return 0
    if not isinstance(tenant, Tenant):
        tenant = Tenant.objects.get(pk=tenant)
    computed = with_fallback_at(_scope(tenant, ids, pool_ids), tenant).order_by().values_list("pk", COMPUTED).query
    sql, params = computed.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE customers_customer c SET fallback_at = computed.at
            FROM ({sql}) AS computed (id, at)
            WHERE c.id = computed.id AND c.tenant_id = %s AND c.fallback_at IS DISTINCT FROM computed.at
            """,  # noqa: S608 - Django's own compiled SQL, values as parameters
            [*params, tenant.pk],
        )
        return cursor.rowcount


def fallback_at_mismatches(tenant: Tenant, *, limit: int = 100) -> tuple[int, list[tuple[int, object, object]]]:
    """How many of the tenant's customers store a fall-back moment other than the computed one, and the first
    `limit` of them as (id, stored, computed). One statement over the tenant."""
    computed = with_fallback_at(_scope(tenant, None, None), tenant).order_by().values_list("pk", COMPUTED).query
    sql, params = computed.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id, c.fallback_at, computed.at, count(*) OVER ()
            FROM ({sql}) AS computed (id, at) JOIN customers_customer c ON c.id = computed.id
            WHERE c.fallback_at IS DISTINCT FROM computed.at
            ORDER BY c.id LIMIT %s
            """,  # noqa: S608 - Django's own compiled SQL, values as parameters
            [*params, limit],
        )
        rows = cursor.fetchall()
    return (rows[0][3] if rows else 0), [(pk, stored, at) for pk, stored, at, _n in rows]
