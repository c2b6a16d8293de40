"""The settings index and the company's settings."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.forms import TenantSettingsForm
from crm.registry import registry
from crm.services.tenant import tenant_update
from crm.web import admin_required


@admin_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/settings/index.html", {"pages": registry.settings_pages_for(request.user)})


@admin_required
@require_http_methods(["GET", "POST"])
def tenant_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = TenantSettingsForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        tenant_update(acting_user=request.user, tenant=tenant, **{f: form.cleaned_data[f] for f in form.Meta.fields})
        messages.success(request, _("Company settings saved."))
        return redirect("settings:tenant")
    return render(request, "crm/settings/tenant.html", {"form": form})
