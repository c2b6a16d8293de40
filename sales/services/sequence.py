"""Document numbers without gaps or repeats: quotes and contracts are numbered per tenant, kind and year."""

from __future__ import annotations

from django.db import connection

from sales.models import DocumentSequence


def sequence_next(*, tenant_id: int, kind: str, year: int) -> int:
    """The next number of `kind` in `year`. Must run inside the document's transaction: the counter row stays
    locked until it commits (a concurrent caller waits, then gets the following number), and a rollback gives the
    number back, so the numbers that exist have no gaps."""
    if not connection.in_atomic_block:
        raise RuntimeError("sequence_next must run inside the transaction that writes the document")
    assert DocumentSequence._meta.db_table == "sales_documentsequence"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sales_documentsequence AS seq (tenant_id, kind, year, last_number, created_at, updated_at)
            VALUES (%s, %s, %s, 1, now(), now())
            ON CONFLICT (tenant_id, kind, year)
            DO UPDATE SET last_number = seq.last_number + 1, updated_at = now()
            RETURNING last_number
            """,
            [tenant_id, kind, year],
        )
        return cursor.fetchone()[0]
