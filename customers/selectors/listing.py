"""The customer list at a million rows: a page's ids are chosen over the sort indexes alone, then only those rows are
read with what the list shows (owner, level, pool, primary contact, fall-back day).

Choosing the page first keeps a deep page cheap: the offset is walked over index entries, never over joined rows
with their display subqueries. For a non-admin the visibility is given as literal owner ids (`visible_scope`), and
with several owners (a manager's team, a rep with customers shared with them) the page is a merge of one ordered
scan per owner (a UNION ALL of per-owner LIMITs that PostgreSQL merges in order): page 200 reads about 10,000 index
entries however many rows the team holds, instead of sorting all of them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.db.models.query import EmptyQuerySet

from crm.models import Tenant
from customers.models import Contact, Customer
from customers.querysets import VisibleScope

# The list's sorts (the `sort` parameter): their ORDER BY, unique thanks to the id, and the column each sorts on.
# Each has a tenant-wide index and a per-owner index in exactly this order (NULLS FIRST for the follow-up: never
# followed up counts as the longest without one; read backwards for the descending sorts).
SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "last_followed_up": (F("last_followed_up_at").asc(nulls_first=True), "pk"),
    "-last_followed_up": (F("last_followed_up_at").desc(nulls_last=True), "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
}
DEFAULT_SORT = "-created"
SORT_COLUMNS = {
    "name": "name",
    "last_followed_up": "last_followed_up_at",
    "created": "created_at",
}
# Past this many owners one scan of the tenant-wide sort index is cheaper to plan than a merge of per-owner scans.
MERGE_OWNERS_MAX = 60


class CustomerPageIds(Sequence):
    """The ids of a customer FilterSet's rows in its sort, sliced by a paginator: `ids[950:1000]` runs one query for
    those 50 ids. `scope` is the `visible_scope` the FilterSet's rows were made visible with (None for an admin)."""

    def __init__(self, filterset, scope: VisibleScope | None):
        self.filterset = filterset
        self.scope = scope

    def __len__(self) -> int:  # the paginator counts through its count queryset; this is for completeness
        return self.filterset.qs.order_by().count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        return self._ids(index.start or 0, index.stop)

    def _ids(self, start: int, stop: int) -> list[int]:
        if stop is not None and stop <= start:  # an empty list's page
            return []
        sort = self.filterset.sort_key
        parts = self._parts(sort)
        if parts is None:
            return list(self.filterset.qs.values_list("pk", flat=True)[start:stop])
        ordering = SORTS[sort]
        column = SORT_COLUMNS[sort.lstrip("-")]
        # Each part filtered as the list is, sorted and cut at the page's end; PostgreSQL merges them in order.
        # A filter that rules a part out makes it empty (no query); one part left needs no merge.
        filtered_parts = [p for p in (self._filtered(part) for part in parts) if not isinstance(p, EmptyQuerySet)]
        if len(filtered_parts) < 2:
            if not filtered_parts:
                return []
            return list(filtered_parts[0].order_by(*ordering).values_list("pk", flat=True)[start:stop])
        firsts = [part.order_by(*ordering).values_list("pk", column)[:stop] for part in filtered_parts]
        merged = firsts[0].union(*firsts[1:], all=True).order_by(*ordering)[start:stop]
        return [pk for pk, _key in merged]

    def _searching(self) -> bool:
        return bool(self.filterset.is_bound and self.filterset.form.cleaned_data.get("q"))

    def _filtered(self, part: QuerySet[Customer]) -> QuerySet[Customer]:
        """`part` filtered as the FilterSet filters its own rows (nothing when it has no data)."""
        if not self.filterset.is_bound:
            return part
        self.filterset.errors  # noqa: B018 - validates the form, as FilterSet.qs does, before filtering
        return self.filterset.filter_queryset(part)

    def _parts(self, sort: str) -> list[QuerySet[Customer]] | None:
        """The visible rows' disjoint parts to merge, or None where one scan serves: an admin, a single owner, a
        sort without per-owner indexes, a very large team, or a search (its matches come from the search indexes,
        which each part would read again)."""
        if self.scope is None or sort not in SORTS or self._searching():
            return None
        parts = Customer.objects.visible_parts(self.filterset.request.user, self.scope)
        if len(parts) < 2 or len(parts) > MERGE_OWNERS_MAX:
            return None
        return parts


def primary_contact_annotations() -> dict:
    """The primary contact (else the first contact) of a list row as {name, mobile, id}: one lookup per row."""
    primary = Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "pk")
    return {
        "primary": Subquery(
            primary.annotate(row=JSONObject(name="name", mobile="mobile", id="pk")).values("row")[:1],
            output_field=JSONField(),
        )
    }


def customer_rows(ids: Sequence[int], tenant: Tenant) -> list[Customer]:
    """The customers of a page's ids, in that order, with their owner, level, pool and primary contact (the
    fall-back moment is stored on the row): one query over at most a page of primary keys."""
    if not ids:
        return []
    rows = (
        Customer.objects.filter(tenant_id=tenant.pk, pk__in=list(ids))
        .select_related("owner", "level", "pool")
        .annotate(**primary_contact_annotations())
    )
    by_pk = {customer.pk: customer for customer in rows}
    for customer in by_pk.values():
        primary = customer.primary or {}
        customer.primary_name = primary.get("name")
        customer.primary_mobile = primary.get("mobile")
        customer.primary_contact_id = primary.get("id")
    return [by_pk[pk] for pk in ids if pk in by_pk]
