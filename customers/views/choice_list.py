"""Settings → Value lists (admins): the region, industry and source lists, whether each accepts other values, and
mapping the free text already on customers and leads to a list value."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, tenant_required
from customers.forms.choice_list import ChoiceEntryForm, ChoiceListForm, ChoiceMapForm
from customers.models import ChoiceEntry, ChoiceKind, ChoiceList
from customers.selectors.choice_list import values_in_use
from customers.services.choice_list import choice_entry_save, choice_list_save, choice_value_map

# The mapping table shows the most used values first, at most this many.
VALUES_SHOWN = 200


def _kind(request: HttpRequest) -> str:
    """The list a request is about (`?kind=` or the posted `kind`): region unless said; another word is 404."""
    kind = request.POST.get("kind") or request.GET.get("kind") or ChoiceKind.REGION
    if kind not in ChoiceKind.values:
        raise Http404
    return kind


def _back(kind: str) -> HttpResponse:
    return redirect(f"{reverse('value_lists')}?kind={kind}")


def _page(
    request: HttpRequest,
    kind: str,
    *,
    entry_form: ChoiceEntryForm | None = None,
    list_form: ChoiceListForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """One list: its entries with how many customers carry each, the add form, the "other" switch, and the values
    on customers outside the list with a mapping form each: four queries whatever their number."""
    entries = list(ChoiceEntry.objects.for_tenant(request.tenant).filter(kind=kind).order_by("order", "value"))
    in_use = values_in_use(request.tenant, kind)
    counts = {value: n for value, n, _listed in in_use}
    choice_list = ChoiceList.objects.for_tenant(request.tenant).filter(kind=kind).first()
    unlisted = [(value, n) for value, n, listed in in_use if not listed][:VALUES_SHOWN]
    offered = [e for e in entries if e.active]
    context = {
        "kind": kind,
        "kind_label": ChoiceKind(kind).label,
        "kinds": ChoiceKind.choices,
        "entries": [(entry, counts.get(entry.value, 0)) for entry in entries],
        "entry_form": entry_form or ChoiceEntryForm(prefix="entry"),
        "list_form": list_form
        or ChoiceListForm(prefix="list", initial={"allow_other": bool(choice_list and choice_list.allow_other)}),
        "unlisted": [
            (value, n, ChoiceMapForm(entries=offered, initial={"from_value": value})) for value, n in unlisted
        ],
        "unlisted_more": max(0, sum(1 for _v, _n, listed in in_use if not listed) - VALUES_SHOWN),
    }
    return render(request, "customers/settings/value_lists.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def value_lists_view(request: HttpRequest) -> HttpResponse:
    """One list; a POST adds an entry (entry-*) or sets whether other values are accepted (list-*)."""
    kind = _kind(request)
    if request.method == "GET":
        return _page(request, kind)
    if "list-submit" in request.POST:
        list_form = ChoiceListForm(request.POST, prefix="list")
        if list_form.is_valid():
            choice_list_save(acting_user=request.user, kind=kind, allow_other=list_form.cleaned_data["allow_other"])
            messages.success(request, _("Saved."))
            return _back(kind)
        return _page(request, kind, list_form=list_form, status=422)
    entry_form = ChoiceEntryForm(request.POST, prefix="entry")
    if entry_form.is_valid():
        data = entry_form.cleaned_data
        try:
            choice_entry_save(
                acting_user=request.user,
                kind=kind,
                value=data["value"],
                name_en=data["name_en"],
                aliases=entry_form.cleaned_aliases(),
                order=data.get("order") or 0,
                active=data["active"],
            )
        except DomainError as exc:
            apply_domain_error(entry_form, exc)
        else:
            messages.success(request, _("“%(value)s” added.") % {"value": data["value"]})
            return _back(kind)
    return _page(request, kind, entry_form=entry_form, status=422)


@tenant_required
@require_http_methods(["GET", "POST"])
def value_entry_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Another company's id is missing (404) before it is forbidden (403) to non-admins.
    entry = get_object_or_404(ChoiceEntry.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    initial = {
        "name_en": entry.name_en,
        "aliases": ", ".join(entry.aliases),
        "order": entry.order,
        "active": entry.active,
    }
    form = ChoiceEntryForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            choice_entry_save(
                acting_user=request.user,
                kind=entry.kind,
                entry=entry,
                name_en=data["name_en"],
                aliases=form.cleaned_aliases(),
                order=data.get("order") or 0,
                active=data["active"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return _back(entry.kind)
    return render(
        request,
        "customers/settings/value_entry.html",
        {"form": form, "entry": entry, "kind_label": ChoiceKind(entry.kind).label},
        status=422 if form.errors else 200,
    )


@admin_required
@require_POST
def value_map_view(request: HttpRequest) -> HttpResponse:
    """Map one free-text value to a list value: every customer and lead carrying it changes, in one UPDATE each."""
    kind = _kind(request)
    entries = ChoiceEntry.objects.for_tenant(request.tenant).filter(kind=kind)
    form = ChoiceMapForm(request.POST, entries=entries)
    if not form.is_valid():
        messages.error(request, _("Choose the list value to map it to."))
        return _back(kind)
    entry = get_object_or_404(entries, pk=form.cleaned_data["entry"])
    return domain_action(
        request,
        lambda: choice_value_map(
            acting_user=request.user, kind=kind, from_value=form.cleaned_data["from_value"], entry=entry
        ),
        success=lambda counts: (
            _("“%(from)s” is now “%(to)s” on %(customers)d customers and %(leads)d leads.")
            % {
                "from": form.cleaned_data["from_value"],
                "to": entry.value,
                "customers": counts.get("customers", 0),
                "leads": counts.get("leads", 0),
            }
        ),
        then=_back(kind),
    )
