"""Writing many rows' changed fields in one statement.

Django's `bulk_update` builds a CASE WHEN per field and row, and resolving those expressions costs Python time that
grows with rows × fields: the escalation job spent 1.4 s of its 1.75 s in it for 133 tickets × 12 fields.
`rows_update` sends the same values as one UPDATE … FROM (VALUES …) with the values as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router


def rows_update(model, rows: Sequence, fields: Sequence[str]) -> int:
    """Write `fields` of `rows` (saved instances of `model`) in one statement, as bulk_update would (no signals, no
    auto_now: set such fields yourself). Returns the number of rows updated."""
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [model._meta.get_field(name) for name in fields]
    params: list = []
    values = []
    for row in rows:
        values.append("(" + ", ".join(["%s"] * (1 + len(columns))) + ")")
        params.append(pk.get_db_prep_save(row.pk, connection=connection))
        params += [field.get_db_prep_save(getattr(row, field.attname), connection=connection) for field in columns]
    names = ", ".join(quote(f"c{i}") for i in range(1 + len(columns)))
    assignments = ", ".join(
        f"{quote(field.column)} = v.{quote(f'c{i + 1}')}::{field.db_type(connection)}"
        for i, field in enumerate(columns)
    )
    # Only quoted names from the model's metadata are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join(values)}) AS v({names}) "
        f"WHERE t.{quote(pk.column)} = v.{quote('c0')}::{pk.db_type(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
