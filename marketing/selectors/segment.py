"""Reads of segments: the customers and contacts a segment picks (the customer list's own FilterSet over the
tenant's live customers), its capped live count, and the segments a user sees."""

from __future__ import annotations

from types import SimpleNamespace

from django.db.models import QuerySet

from crm.web import COUNT_CAP
from customers.filters import CustomerFilter
from customers.models import Contact, Customer
from marketing.models import Segment

# Query parameters of the customer list that are not filters of a segment: the search box (it answers the person
# typing, with their rate limits), the sort and the page.
NOT_SEGMENT_FILTERS = frozenset({"q", "sort", "page"})


def segment_filters(data) -> dict[str, str]:
    """The segment filters among a query's parameters (a QueryDict or a dict): the non-empty, single values of the
    customer list's filters, search, sort and page left out."""
    items = data.items() if hasattr(data, "items") else data
    return {k: str(v).strip() for k, v in items if k not in NOT_SEGMENT_FILTERS and str(v).strip() not in ("", "None")}


def filter_customers(tenant, filters: dict, queryset: QuerySet | None = None) -> QuerySet:
    """The live customers of `tenant` (or of `queryset`, already scoped to it) that `filters` pick, through the
    customer list's FilterSet. A value the tenant no longer has (a deleted tag, a departed owner) picks nobody
    rather than everybody."""
    customers = queryset if queryset is not None else Customer.objects.all()
    customers = customers.filter(tenant_id=tenant.pk, deleted_at__isnull=True)
    data = segment_filters(filters or {})
    if not data:
        return customers.order_by()
    filterset = CustomerFilter(data=data, queryset=customers, request=SimpleNamespace(tenant=tenant, user=None))
    if not filterset.is_valid():
        return customers.none()
    return filterset.qs.order_by()


def segment_customers(segment: Segment, *, user=None) -> QuerySet:
    """The tenant's live customers in `segment` (a campaign's audience); with `user`, only those the user may see
    (Customer.objects.visible_to), which is what the customer list shows them for the segment's query."""
    base = Customer.objects.visible_to(user) if user is not None else None
    return filter_customers(segment.tenant, segment.filters, base)


def segment_contacts(segment: Segment) -> QuerySet:
    """The contacts of the customers in `segment` (every contact, consent or not: the sending path checks consent
    and unsubscribes)."""
    return Contact.objects.filter(
        tenant_id=segment.tenant_id, customer__in=segment_customers(segment).values("pk")
    ).order_by()


def capped_count(queryset: QuerySet) -> tuple[int, bool]:
    """(count, capped): at most COUNT_CAP + 1 rows are counted, as the customer list counts ("10,000+")."""
    count = queryset.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def segments_visible_to(user) -> QuerySet:
    return Segment.objects.visible_to(user).select_related("owner", "team")


def segment_audience_choices(user) -> list[tuple[int, str]]:
    """The segments a user may pick as an audience (crm.registry.CustomerAudience): id and name, in one query."""
    return list(Segment.objects.visible_to(user).order_by("name").values_list("pk", "name"))


def segment_audience_customers(user, segment_id) -> QuerySet | None:
    """The customers of one of the user's segments, within those the user sees; None for a segment that is not
    theirs to use (missing, another tenant's, not shared with them)."""
    try:
        segment = Segment.objects.visible_to(user).select_related("tenant").get(pk=int(segment_id))
    except (Segment.DoesNotExist, TypeError, ValueError):
        return None
    return segment_customers(segment, user=user)
