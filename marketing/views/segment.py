"""Segments (`/segments/`): the list, a segment's page with its live count and the link to its customers, the
form (the customer list's filters and RFM conditions), and the count the form refreshes through htmx."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import is_sales_user
from crm.errors import DomainError
from crm.web import apply_domain_error, form_status, tenant_required
from customers.filters import CustomerFilter
from customers.models import Customer
from marketing.access import can_change_segment, can_manage_care, get_segment_for_user, require_segments
from marketing.forms.segment import SegmentForm
from marketing.models import Segment
from marketing.selectors.segment import (
    capped_count,
    filter_customers,
    segment_filters,
    segments_visible_to,
)
from marketing.services.segment import segment_delete, segment_save

NOT_FORM_FILTERS = ("q", "sort")


def _require_viewer(user) -> None:
    if not is_sales_user(user):
        raise PermissionDenied


def filter_form(request: HttpRequest, data: dict | None):
    """The customer list's filters as a form (without search and sort), bound to `data`."""
    filterset = CustomerFilter(data or None, request=SimpleNamespace(tenant=request.tenant, user=request.user))
    form = filterset.form
    for name in NOT_FORM_FILTERS:
        form.fields.pop(name, None)
    return form


def describe_filters(request: HttpRequest, filters: dict) -> list[tuple[str, str]]:
    """(label, value) of each filter of a segment, as people read them (choice labels, not ids)."""
    form = filter_form(request, filters)
    form.is_valid()
    described = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None
        if value in (None, ""):
            continue
        choices = dict(getattr(field, "choices", []) or [])
        text = choices.get(value, value) if not hasattr(value, "pk") else value
        described.append((str(field.label), str(text)))
    return described


def _count(request: HttpRequest, filters: dict) -> dict:
    customers = filter_customers(request.tenant, filters, Customer.objects.visible_to(request.user))
    count, capped = capped_count(customers)
    return {"count": count, "capped": capped, "query": _query_string(filters)}


def _query_string(filters: dict) -> str:
    return Segment(filters=filters).query_string


@tenant_required
def segment_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    segments = list(segments_visible_to(request.user))
    return render(
        request,
        "marketing/segment/list.html",
        {"segments": segments, "can_create": can_manage_care(request.user)},
    )


@tenant_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_viewer(request.user)
    segment = get_segment_for_user(request.user, pk)
    context = {
        "segment": segment,
        "described": describe_filters(request, segment.filters),
        "counted": _count(request, segment.filters),
        "can_change": can_manage_care(request.user) and can_change_segment(request.user, segment),
    }
    return render(request, "marketing/segment/detail.html", context)


def _save(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    require_segments(request.user)
    if request.method == "POST":
        data = request.POST
        filters = segment_filters({k: v for k, v in data.items() if k not in ("name", "description", "share_team")})
    else:
        # A new segment may start from the customer list's current filters (/segments/new/?region=上海).
        data = None
        filters = segment.filters if segment else segment_filters(request.GET)
    initial = (
        {"name": segment.name, "description": segment.description, "share_team": segment.team_id} if segment else {}
    )
    form = SegmentForm(data, initial=initial, user=request.user)
    filters_form = filter_form(request, filters)
    if request.method == "POST" and form.is_valid():
        try:
            segment = segment_save(
                acting_user=request.user,
                segment=segment,
                name=form.cleaned_data["name"],
                description=form.cleaned_data.get("description", ""),
                team=form.cleaned_data.get("share_team"),
                filters=filters,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
            for field, message in exc.errors:
                if field in filters_form.fields:
                    form.add_error(None, message)
        else:
            messages.success(request, _("Segment saved."))
            return redirect("marketing:segment_detail", pk=segment.pk)
    context = {
        "form": form,
        "filters_form": filters_form,
        "segment": segment,
        "counted": _count(request, filters),
    }
    return render(request, "marketing/segment/form.html", context, status=form_status(form))


@tenant_required
@require_http_methods(["GET", "POST"])
def segment_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_segment_for_user(request.user, pk)
    require_segments(request.user)
    if not can_change_segment(request.user, segment):
        raise PermissionDenied
    return _save(request, segment)


@tenant_required
@require_POST
def segment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_segment_for_user(request.user, pk)
    try:
        segment_delete(acting_user=request.user, segment=segment)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("Segment deleted."))
    return redirect("marketing:segment_list")


@tenant_required
@vary_on_headers("HX-Request")
def segment_count(request: HttpRequest) -> HttpResponse:
    """The live count (htmx) of the filters in the query: the customers the user sees, capped like the list."""
    _require_viewer(request.user)
    filters = segment_filters(request.GET)
    return render(request, "marketing/segment/count.html", {"counted": _count(request, filters)})
