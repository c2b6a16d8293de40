"""Contains-searches (the trigram indexes) under row-level security.

PostgreSQL runs a query's own conditions after a table's policy unless they are leakproof, and neither `LIKE`
nor `ILIKE` is: as the app role, `name ILIKE '%越博建材%'` cannot use the name's trigram index and reads every row
of the tenant. (Prefixes have a leakproof form, `crm.expressions.StartsWith`; contains has none.)

So a contains-search asks a small database function for the matching ids: it runs as the tables' owner, where the
trigram index serves `ILIKE`, and keeps the policy's own condition (`tenant_id` is the connection's `app.tenant_id`;
no setting, no rows). It returns ids only; the query that uses them (`crm.expressions.InFunctionArray`) still reads
the rows under the policy and the user's visibility. A migration creates each function with `contains_function`.
"""

from __future__ import annotations

from django.db import connection, migrations

from crm.rls import POLICY_EXPRESSION

# The `fragment` argument as a LIKE pattern matching it anywhere (`%`, `_` and `\` taken literally).
CONTAINS_PATTERN = "'%' || replace(replace(replace(fragment, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"


def ids_function(name: str, table: str, condition: str, *, argument: str, id_column: str = "id") -> migrations.RunSQL:
    """A migration operation creating `name(fragment text, most integer) → bigint[]`: `id_column` of the current
    tenant's rows of `table` meeting `condition`, in which `$1` is `argument` (an SQL expression of `fragment`) —
    or NULL when more than `most` rows meet it (the caller then filters the rows it reads instead)."""
    policy = POLICY_EXPRESSION.replace("'", "''")
    condition = condition.replace("'", "''")
    # Names and conditions of our migrations; the arguments are bound (USING).
    sql = f"""
        CREATE OR REPLACE FUNCTION {name}(fragment text, most integer) RETURNS bigint[]
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
        DECLARE
            ids bigint[];
        BEGIN
            -- EXECUTE plans with the arguments' values, so a selective one gets its index.
            EXECUTE 'SELECT array_agg(found) FROM (SELECT {id_column} AS found FROM {table} WHERE {policy} AND ({condition}) LIMIT $2 + 1) s'
                INTO ids
                USING {argument}, most;
            IF cardinality(ids) > most THEN
                RETURN NULL;
            END IF;
            RETURN coalesce(ids, '{{}}');
        END
        $fn$
    """  # noqa: S608
    return migrations.RunSQL(sql, f"DROP FUNCTION IF EXISTS {name}(text, integer)")


def contains_function(name: str, table: str, columns: list[str]) -> migrations.RunSQL:
    """`name(fragment, most)`: the ids of the current tenant's rows of `table` where one of `columns` contains
    `fragment`, case-insensitive (on their trigram indexes); NULL past `most`."""
    return ids_function(name, table, " OR ".join(f"{column} ILIKE $1" for column in columns), argument=CONTAINS_PATTERN)


def matching_ids(function: str, fragment: str, most: int) -> list[int] | None:
    """Call one of these functions: the ids, or None when more than `most` rows match (then a plain filter on the
    rows a page reads finds its matches sooner than an index would list them all)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(function)}(%s, %s)", [fragment, most])  # noqa: S608
        return cursor.fetchone()[0]


def suffix_function(
    name: str, table: str, column: str, *, id_column: str = "id", condition: str = "TRUE"
) -> migrations.RunSQL:
    """`name(fragment)`: `id_column` of the current tenant's rows of `table` (meeting `condition`) whose `column`
    ends with `fragment` (on an index of `reverse(column)` with `varchar_pattern_ops`: `reverse()` is not leakproof
    either)."""
    return ids_function(
        name,
        table,
        f"({condition}) AND reverse({column}) ^@ $1",
        argument="reverse(fragment)",
        id_column=id_column,
    )
