"""Merging two customers into one (managers and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.errors import DomainError
from crm.forms import SearchForm
from crm.web import tenant_required
from customers.access import mergeable_by
from customers.filters import search_customers
from customers.models import Contact, Customer
from customers.services.merge import customer_merge, merge_preview


def _comparison(keep: Customer, other: Customer, filled: list[str]) -> list[dict]:
    """Rows of the side-by-side table: each field of both customers and what the merged customer keeps."""

    def show(customer: Customer, field: str) -> str:
        if field == "level_id":
            return str(customer.level) if customer.level else ""
        if field == "owner":
            return customer.owner.full_name if customer.owner else ""
        if field == "kind":
            return customer.get_kind_display()
        if field == "status":
            return customer.get_status_display()
        if field == "is_key_account":
            return _("Yes") if customer.is_key_account else _("No")
        if field in ("last_followed_up_at", "created_at"):
            value = getattr(customer, field)
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""
        return str(getattr(customer, field) or "")

    labels = [
        ("name", _("Name")),
        ("kind", _("Type")),
        ("status", _("Status")),
        ("level_id", _("Level")),
        ("owner", _("Owner")),
        ("industry", _("Industry")),
        ("region", _("Region")),
        ("source", _("Source")),
        ("credit_code", _("Unified social credit code")),
        ("address", _("Address")),
        ("website", _("Website")),
        ("is_key_account", _("Key account")),
        ("last_followed_up_at", _("Last follow-up")),
        ("created_at", _("Created")),
    ]
    rows = []
    for field, label in labels:
        mine, theirs = show(keep, field), show(other, field)
        if field in filled:
            result, source = theirs, "other"
        elif field == "is_key_account":
            result = _("Yes") if keep.is_key_account or other.is_key_account else _("No")
            source = "other" if other.is_key_account and not keep.is_key_account else "keep"
        elif (
            field == "last_followed_up_at"
            and other.last_followed_up_at
            and (not keep.last_followed_up_at or other.last_followed_up_at > keep.last_followed_up_at)
        ):
            result, source = theirs, "other"
        else:
            result, source = mine, "keep"
        rows.append({"label": label, "keep": mine, "other": theirs, "result": result, "from_other": source == "other"})
    return rows


def _parse_id(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


@tenant_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another customer into this one: find it by search or number, see both side by side, confirm."""
    user = request.user
    keep = get_object_or_404(Customer.objects.visible_to(user).select_related("owner", "level", "pool"), pk=pk)
    candidates_qs = mergeable_by(user)
    if not candidates_qs.filter(pk=keep.pk).exists():
        raise PermissionDenied(_("Only the managers of its owner's team and administrators merge this customer."))

    error = None
    other = None
    raw_other = request.POST.get("other") if request.method == "POST" else request.GET.get("other")
    query = SearchForm(request.GET).value("q")
    if raw_other:
        other_id = _parse_id(raw_other)
        if other_id == keep.pk:
            error = _("A customer cannot be merged into itself.")
        else:
            other = (
                candidates_qs.select_related("owner", "level", "pool").filter(pk=other_id).first() if other_id else None
            )
            if other is None:
                error = _("No customer with this number that you may merge.")

    if request.method == "POST" and other is not None:
        try:
            customer_merge(acting_user=user, keep=keep, merge=other)
        except (DomainError, PermissionDenied) as exc:
            error = getattr(exc, "message", None) or str(exc) or _("These customers cannot be merged.")
        else:
            messages.success(
                request, _("“%(merged)s” is merged into “%(keep)s”.") % {"merged": other.name, "keep": keep.name}
            )
            return redirect("customers:detail", pk=keep.pk)

    candidates = []
    if query and other is None:
        candidates = list(
            search_customers(candidates_qs.exclude(pk=keep.pk), query, request.tenant, request.user)
            .select_related("owner")
            .order_by("name", "pk")[:20]
        )
    preview = merge_preview(keep=keep, merge=other) if other is not None else None
    contacts = {}
    if other is not None:
        for contact in Contact.objects.filter(customer_id__in=[keep.pk, other.pk]).order_by("-is_primary", "name"):
            contacts.setdefault(contact.customer_id, []).append(contact)
    context = {
        "keep": keep,
        "other": other,
        "query": query,
        "candidates": candidates,
        "preview": preview,
        "comparison": _comparison(keep, other, preview.filled) if preview else [],
        "keep_contacts": contacts.get(keep.pk, []),
        "other_contacts": contacts.get(other.pk, []) if other else [],
        "error": error,
    }
    status = 422 if request.method == "POST" and error else 200
    return render(request, "customers/merge.html", context, status=status)
