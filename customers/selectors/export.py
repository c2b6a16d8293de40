"""Reads behind exports: the filtered customers an export covers, capped counts, the user's export jobs."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Role, User
from customers.filters import CustomerFilter
from customers.models import Customer, ExportJob

# Parameters of the list page that are not filters: they neither change the rows nor belong in the audit.
NON_FILTER_PARAMS = {"format", "page"}


def filter_params(query: QueryDict) -> dict[str, list[str]]:
    """The list's filter parameters (what the audit records and a job replays), without paging or format."""
    return {
        key: query.getlist(key) for key in sorted(query) if key not in NON_FILTER_PARAMS and any(query.getlist(key))
    }


def params_querydict(params: dict[str, Iterable[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, list(values))
    return query


def customer_filterset(*, user: User, params: QueryDict, request: Any = None) -> CustomerFilter:
    """The list page's FilterSet over the customers `user` may see, bound to `params` (the list's GET)."""
    request = request or SimpleNamespace(tenant=user.tenant, user=user)
    return CustomerFilter(params, queryset=Customer.objects.visible_to(user), request=request)


def filtered_customers(*, user: User, params: QueryDict, request: Any = None) -> QuerySet[Customer]:
    """The customer list exactly as the list page filters it for `user`: CustomerFilter over visible_to(user).
    Refuses invalid filters rather than silently exporting more than the user asked for."""
    filterset = customer_filterset(user=user, params=params, request=request)
    if not filterset.is_valid():
        raise DomainError(_("The filters of this list are not valid; correct them and export again."))
    return filterset.qs


def sync_limit() -> int:
    """Exports up to this many rows are answered directly; larger ones become an ExportJob run by Celery."""
    return getattr(settings, "CUSTOMER_EXPORT_SYNC_LIMIT", 5000)


COUNT_CAP = 10_000


def count_capped(queryset: QuerySet[Customer]) -> int:
    """The number of rows, counted no further than COUNT_CAP + 1 (DESIGN.md §8: no exact COUNT over a million
    rows just to show a number). Always exact up to the sync limit, which is what decides stream or job."""
    cap = max(COUNT_CAP, sync_limit())
    return queryset.order_by()[: cap + 1].count()


def exports_visible_to(user: User) -> QuerySet[ExportJob]:
    """A user's own exports; an admin sees every export of the tenant. Fails closed."""
    if not (user.is_authenticated and user.tenant_id):
        return ExportJob.objects.none()
    qs = ExportJob.objects.for_tenant(user.tenant).select_related("created_by")
    if user.has_any_role(Role.ADMIN):
        return qs
    return qs.filter(created_by=user)
