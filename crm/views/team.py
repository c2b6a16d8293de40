"""Settings → teams (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.access import get_team_for_admin
from crm.errors import DomainError
from crm.forms import TeamForm
from crm.models import Team
from crm.services.team import team_create, team_update
from crm.web import admin_required, apply_domain_error, tenant_required


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = (
        Team.objects.for_tenant(request.tenant)
        .select_related("manager", "parent")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )
    return render(request, "crm/settings/teams.html", {"teams": teams})


@admin_required
@require_http_methods(["GET", "POST"])
def team_create_view(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(acting_user=request.user, tenant=request.tenant, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("settings:teams")
    return render(request, "crm/settings/team_form.html", {"form": form, "creating": True})


@tenant_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_team_for_admin(request.user, pk)
    form = TeamForm(
        request.POST or None,
        tenant=request.tenant,
        team=team,
        initial={"name": team.name, "parent": team.parent, "manager": team.manager},
    )
    if request.method == "POST" and form.is_valid():
        try:
            team_update(acting_user=request.user, team=team, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Team %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("settings:teams")
    members = team.members.order_by("full_name")
    return render(request, "crm/settings/team_form.html", {"form": form, "team": team, "members": members})
