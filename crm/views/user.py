"""Settings → users (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import get_user_for_admin
from crm.errors import DomainError
from crm.filters import UserFilter
from crm.forms import UserForm
from crm.models import Role, User
from crm.services.user import user_create, user_set_active, user_update
from crm.web import admin_required, apply_domain_error, domain_action, paginate, tenant_required


@admin_required
@vary_on_headers("HX-Request")
def user_list(request: HttpRequest) -> HttpResponse:
    base = User.objects.for_tenant(request.tenant).select_related("team")
    filterset = UserFilter(request.GET or None, queryset=base, tenant=request.tenant)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = paginate(request, qs.order_by("full_name", "pk"))
    template = "crm/settings/partials/user_table.html" if request.htmx else "crm/settings/users.html"
    return render(request, template, {"filter": filterset, "page": page})


@admin_required
@require_http_methods(["GET", "POST"])
def user_create_view(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None, tenant=request.tenant, initial={"roles": [Role.REP], "send_invite": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                acting_user=request.user,
                tenant=request.tenant,
                email=data["email"],
                full_name=data["full_name"],
                roles=data["roles"],
                team=data["team"],
                phone=data["phone"],
                send_invite=data["send_invite"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.full_name})
            return redirect("settings:users")
    return render(request, "crm/settings/user_form.html", {"form": form, "creating": True})


@tenant_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request.user, pk)
    initial = {
        "full_name": user.full_name,
        "phone": user.phone,
        "roles": user.roles,
        "team": user.team,
        "language": user.language,
    }
    form = UserForm(request.POST or None, tenant=request.tenant, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_update(
                acting_user=request.user,
                user=user,
                full_name=data["full_name"],
                roles=data["roles"],
                team=data["team"],
                phone=data["phone"],
                language=data["language"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.full_name})
            return redirect("settings:users")
    return render(request, "crm/settings/user_form.html", {"form": form, "target": user})


@tenant_required
@require_POST
def user_set_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request.user, pk)
    active = request.POST.get("active") == "1"
    if active:
        success = _("%(name)s can log in again.") % {"name": user.full_name}
    else:
        success = _("%(name)s is deactivated and can no longer log in; their records stay.") % {"name": user.full_name}
    return domain_action(
        request,
        lambda: user_set_active(acting_user=request.user, user=user, active=active),
        success=success,
        then=reverse("settings:user_edit", kwargs={"pk": user.pk}),
    )
