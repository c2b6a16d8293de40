"""Cursor pagination for every API list: stable under inserts, no COUNT over a big table."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # Oldest first by id: a sync client pages through everything changed since its last run (updated_since) and
    # takes the time it started as its next updated_since.
    ordering = "pk"
