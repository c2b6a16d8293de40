"""Saving a list's filters under a name, and deleting a saved view; opening one is a link to the list."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.savedviews.forms import SavedViewForm
from crm.savedviews.models import LISTS, SavedView
from crm.savedviews.services import clean_query, saved_view_delete, saved_view_save
from crm.web import domain_action, tenant_required


def _list_url(list_name: str, query: str = "") -> str:
    try:
        url = reverse(list_name if list_name in LISTS else "home")
    except NoReverseMatch:
        url = reverse("home")
    return f"{url}?{query}" if query else url


@tenant_required
@require_POST
def saved_view_save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST, user=request.user)
    list_name = request.POST.get("list_name", "")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_list_url(list_name, clean_query(request.POST.get("query", ""))))
    return domain_action(
        request,
        lambda: saved_view_save(
            acting_user=request.user,
            list_name=form.cleaned_data["list_name"],
            name=form.cleaned_data["name"],
            query=form.cleaned_data["query"],
            team=form.cleaned_data["team"],
        ),
        success=lambda view: _("View “%(name)s” saved.") % {"name": view.name},
        then=lambda view: _list_url(view.list_name, view.query),
        on_error=_list_url(list_name, clean_query(request.POST.get("query", ""))),
    )


@tenant_required
@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = SavedView.objects.visible_to(request.user).filter(pk=pk).first()
    if view is None:
        raise Http404
    saved_view_delete(acting_user=request.user, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(_list_url(view.list_name))
