"""Settings → the public lead form (admins)."""

from __future__ import annotations

import io

import segno
from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.errors import DomainError
from crm.forms import QueryForm
from crm.web import admin_required, apply_domain_error, form_status
from sales.forms.web_form import WebFormSettingsForm
from sales.models import Lead
from sales.services.web_form import web_form_for, web_form_save


@admin_required
@require_http_methods(["GET", "POST"])
def web_form_settings(request: HttpRequest) -> HttpResponse:
    web_form = web_form_for(request.tenant)
    form = WebFormSettingsForm(request.POST or None, user=request.user, web_form=web_form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            web_form_save(
                acting_user=request.user,
                is_enabled=data["is_enabled"],
                title=data["title"],
                intro=data["intro"],
                thank_you=data["thank_you"],
                fields=data["fields_"],
                required_fields=data["required_fields"],
                owner=data["owner"],
                source=data["source"],
                campaign=data["campaign"],
                privacy_text=data["privacy_text"],
            )
        except DomainError as exc:
            apply_domain_error(form, _field_error(exc))
        else:
            messages.success(request, _("Web form saved."))
            return redirect("sales:web_form_settings")
    public_url = request.build_absolute_uri(reverse("sales:public_lead_form", args=[request.tenant.slug]))
    embed_url = request.build_absolute_uri(reverse("sales:public_lead_embed", args=[request.tenant.slug]))
    since = timezone.now() - timezone.timedelta(days=30)
    received = (
        Lead.objects.for_tenant(request.tenant)
        .filter(origin="web_form")
        .aggregate(total=Count("pk"), recent=Count("pk", filter=Q(created_at__gte=since)))
    )
    context = {
        "form": form,
        "web_form": web_form,
        "public_url": public_url,
        "received": received,
        "embed_snippet": EMBED_SNIPPET.format(url=embed_url, title=escape(web_form.title)),
    }
    return render(request, "sales/settings/web_form.html", context, status=form_status(form))


EMBED_SNIPPET = (
    '<iframe src="{url}" title="{title}" width="100%" height="760" loading="lazy" '
    'style="border:0;max-width:40rem"></iframe>'
)


class QrForm(QueryForm):
    format = forms.ChoiceField(required=False, choices=[("svg", "SVG"), ("png", "PNG")])
    defaults = {"format": "svg"}


@admin_required
@require_GET
def web_form_qr(request: HttpRequest) -> HttpResponse:
    """The form's address as a QR code, made here (segno), to print or share in WeChat: SVG to show, PNG to
    download (?format=png)."""
    url = request.build_absolute_uri(reverse("sales:public_lead_form", args=[request.tenant.slug]))
    fmt = QrForm(request.GET).value("format")
    buffer = io.BytesIO()
    qr = segno.make(url, error="m")
    if fmt == "png":
        qr.save(buffer, kind="png", scale=10, border=2)
        response = HttpResponse(buffer.getvalue(), content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="lead-form-{request.tenant.slug}.png"'
    else:
        qr.save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
        response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    patch_cache_control(response, private=True, max_age=300)
    return response


def _field_error(exc: DomainError) -> DomainError:
    """The service names the model's `fields`; the form's field is `fields_` (`fields` is taken by Django)."""
    return DomainError(exc.message, field="fields_" if exc.field == "fields" else exc.field)
