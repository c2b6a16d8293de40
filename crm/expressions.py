"""Database expressions the querysets of several apps share."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, Expression, F, Func, QuerySet, TextField


class InArray(Expression):
    """`column = ANY(ARRAY(subquery))`: the subquery runs once, before the scan (an InitPlan), and its values are a
    parameter the column's index can match. Unlike `column IN (subquery)` inside an OR — which PostgreSQL runs as a
    filter on every row of the tenant — several of these OR-ed together become one BitmapOr of index scans: the
    visibility predicates ("mine, my teams', or shared with me") read only the rows they return."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, subquery: QuerySet):
        super().__init__()
        self.column = F(column)
        self.array = ArraySubquery(subquery)

    def get_source_expressions(self):
        return [self.column, self.array]

    def set_source_expressions(self, exprs):
        self.column, self.array = exprs

    def as_sql(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        array_sql, array_params = compiler.compile(self.array)
        return f"{column_sql} = ANY({array_sql})", (*column_params, *array_params)


class StartsWith(Expression):
    """`column ^@ prefix`: the column starts with `prefix` (case-sensitive, no wildcards), on the column's
    `varchar_pattern_ops` index. The same rows as `__startswith`, but usable as an index condition under row-level
    security: PostgreSQL only lets a leakproof operator run before a table's policy, and `LIKE` is not leakproof
    (the app role's `name LIKE '杭州%'` reads the whole table) while `^@` is — the planner turns it into the index's
    range condition (`name ~>=~ '杭州' AND name ~<~ '杭巟'`)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column, prefix: str):
        super().__init__()
        self.column = F(column) if isinstance(column, str) else column
        self.prefix = prefix

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        return f"({column_sql})::text ^@ %s", (*column_params, self.prefix)


class InFunctionArray(Expression):
    """`column = ANY(function(argument, most))` for a database function returning an array of ids (e.g. the
    customers whose phone ends with some digits, crm.search_functions; NULL, so nothing, past `most`): the function
    runs once, before the scan, and the ids meet the column's index like `InArray`'s."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, function: str, argument: str, most: int):
        super().__init__()
        self.column = F(column)
        self.function = function
        self.argument = argument
        self.most = most

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        function = connection.ops.quote_name(self.function)
        # A scalar subquery, so an InitPlan: the function runs once even where the ids are also re-checked per row.
        return f"{column_sql} = ANY((SELECT {function}(%s, %s))::bigint[])", (*column_params, self.argument, self.most)


class SortedApart(Func):
    """`(column || '')`: the same values and order as a text column, but no index provides that order. Sorting a
    search's matches by it makes the planner collect the matches off their own indexes and keep the first few
    (a top-N sort) instead of walking the column's index past every row that does not match (a rare match in a
    million rows: seconds)."""

    template = "(%(expressions)s || '')"
    output_field = TextField()
