"""Reading a long ordered queryset in batches that each end where the previous one stopped (keyset pagination).

Exports and jobs that walk many rows cannot hold them all: without server-side cursors (they are off, since a
cursor cannot outlive a transaction under PgBouncer in transaction mode), `QuerySet.iterator()` still receives the
whole result set at once. `keyset_batches` sends one query per batch instead, `WHERE <after the last row> ORDER BY
<the queryset's order> LIMIT size`, so memory holds one batch whatever the number of rows, and each statement stands
alone (a streamed response may read its batches in separate transactions, each in the tenant's context).

The queryset's order must end with a unique key (the lists' sorts all end with `pk`); `pk` is added if it does not.
NULLs are placed as the order says (`nulls_first` / `nulls_last`, else PostgreSQL's default: last ascending, first
descending).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Expression, F, OrderBy, Q, QuerySet

ALIAS = "keyset_%d"


@dataclass(frozen=True)
class _Key:
    alias: str
    expression: Any
    descending: bool
    nulls_first: bool
    nullable: bool


def _keys(queryset: QuerySet) -> list[_Key]:
    model = queryset.model
    order = list(queryset.query.order_by) or list(model._meta.ordering or [])
    names = [o.lstrip("-") for o in order if isinstance(o, str)]
    if "pk" not in names and model._meta.pk.name not in names:
        order.append("pk")
    keys = []
    for index, item in enumerate(order):
        if isinstance(item, str):
            descending, name = item.startswith("-"), item.lstrip("-")
            expression, nulls_first, nulls_last = F(name), None, None
        elif isinstance(item, OrderBy):
            descending, expression = item.descending, item.expression
            nulls_first, nulls_last = item.nulls_first, item.nulls_last
            name = getattr(expression, "name", None)
        elif isinstance(item, Expression):
            descending, expression, nulls_first, nulls_last, name = False, item, None, None, None
        else:
            raise TypeError(f"Cannot read the order {item!r} in keyset batches")
        nullable = True
        if name == "pk":
            nullable = False
        elif name and "__" not in name:
            try:
                nullable = model._meta.get_field(name).null
            except FieldDoesNotExist:
                nullable = True  # an annotation
        first = bool(nulls_first) if (nulls_first or nulls_last) else descending
        keys.append(_Key(ALIAS % index, expression, descending, first, nullable))
    return keys


def _after(keys: list[_Key], last: list[Any]) -> Q:
    """Rows strictly after the row whose key values are `last`, in the order of `keys`."""
    nothing = Q(pk__in=[])
    branches, same = [], Q()
    for key, value in zip(keys, last, strict=True):
        if value is None:
            beyond = Q(**{f"{key.alias}__isnull": False}) if key.nulls_first else nothing
            equal = Q(**{f"{key.alias}__isnull": True})
        else:
            beyond = Q(**{f"{key.alias}__{'lt' if key.descending else 'gt'}": value})
            if key.nullable and not key.nulls_first:
                beyond |= Q(**{f"{key.alias}__isnull": True})
            equal = Q(**{key.alias: value})
        branches.append(same & beyond)
        same &= equal
    return reduce(or_, branches)


def _order(key: _Key) -> OrderBy:
    reference = F(key.alias)
    if key.descending:
        return reference.desc(nulls_first=key.nulls_first or None, nulls_last=(not key.nulls_first) or None)
    return reference.asc(nulls_first=key.nulls_first or None, nulls_last=(not key.nulls_first) or None)


def keyset_batches(queryset: QuerySet, *, size: int) -> Iterator[list]:
    """The queryset's rows (model instances or `values()` dicts, with the `keyset_<n>` values added) in its own
    order, as lists of at most `size`, one query each."""
    keys = _keys(queryset)
    ordered = queryset.annotate(**{key.alias: key.expression for key in keys}).order_by(*(_order(k) for k in keys))
    condition = None
    while True:
        page = ordered.filter(condition) if condition is not None else ordered
        batch = list(page[:size])
        if batch:
            yield batch
        if len(batch) < size:
            return
        row = batch[-1]
        last = [row[k.alias] if isinstance(row, dict) else getattr(row, k.alias) for k in keys]
        condition = _after(keys, last)
