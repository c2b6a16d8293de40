"""Database expressions the querysets of several apps share."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, Expression, F, QuerySet


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
