"""The API lists' filters: the pages' own FilterSets, and the `updated_since` parameter for incremental sync."""

from __future__ import annotations

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend

PARAMETER = "updated_since"


class UpdatedSinceFilter(BaseFilterBackend):
    """Rows whose `updated_at` is at or after an ISO 8601 time (without an offset: the user's time zone)."""

    def filter_queryset(self, request, queryset, view):
        value = request.query_params.get(PARAMETER)
        if not value:
            return queryset
        try:
            since = parse_datetime(value)
        except ValueError:
            since = None
        if since is None:
            raise exceptions.ValidationError({PARAMETER: [_("Enter a date and time such as 2026-01-31T08:00:00Z.")]})
        if timezone.is_naive(since):
            since = timezone.make_aware(since)
        return queryset.filter(updated_at__gte=since)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": PARAMETER,
                "required": False,
                "in": "query",
                "description": "Only rows changed at or after this time (ISO 8601).",
                "schema": {"type": "string", "format": "date-time"},
            }
        ]


class PageFilterBackend(DjangoFilterBackend):
    """The list page's FilterSet, with the viewset's `filter_defaults` for parameters the request leaves out: a
    page opens on open records, a sync through the API wants every status unless it asks otherwise."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        defaults = getattr(view, "filter_defaults", {})
        if defaults:
            data = kwargs["data"].copy()
            for key, value in defaults.items():
                if not data.get(key):
                    data[key] = value
            kwargs["data"] = data
        return kwargs
