"""The settings index and the company's settings."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.errors import DomainError
from crm.forms import TenantSettingsForm
from crm.models import Tenant
from crm.registry import registry
from crm.services.tenant import logo_content_type, tenant_logo_set, tenant_update
from crm.web import admin_required, apply_domain_error, form_status, tenant_required


@admin_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/settings/index.html", {"pages": registry.settings_pages_for(request.user)})


@admin_required
@require_http_methods(["GET", "POST"])
def tenant_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = TenantSettingsForm(request.POST or None, request.FILES or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            # The logo first: a refused file leaves the other settings as they were.
            upload = form.cleaned_data["logo_upload"]
            if upload or form.cleaned_data["logo_clear"]:
                tenant = tenant_logo_set(acting_user=request.user, tenant=tenant, upload=upload or None)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            tenant_update(
                acting_user=request.user, tenant=tenant, **{f: form.cleaned_data[f] for f in form.Meta.fields}
            )
            messages.success(request, _("Company settings saved."))
            return redirect("settings:tenant")
    return render(
        request, "crm/settings/tenant.html", {"form": form, "has_logo": bool(tenant.logo)}, status=form_status(form)
    )


@tenant_required
@require_GET
def tenant_logo(request: HttpRequest) -> HttpResponse:
    """The company's logo, to its own users only (no id in the address: always the user's own company)."""
    tenant = Tenant.objects.get(pk=request.tenant.pk)
    if not tenant.logo:
        raise Http404
    try:
        file = tenant.logo.storage.open(tenant.logo.name, "rb")
    except OSError as exc:
        raise Http404 from exc
    kind = logo_content_type(file.read(8))
    file.seek(0)
    if kind is None:
        file.close()
        raise Http404
    response = FileResponse(file, content_type=kind)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
