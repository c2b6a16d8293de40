"""Settings → API tokens (make, list, revoke) and the API's schema and docs pages."""

from __future__ import annotations

import datetime
import zoneinfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, form_status, paginate, tenant_required

from .access import get_custom_field_for_admin, get_delivery_for_admin, get_token_for_user, get_webhook_for_admin
from .forms import CustomFieldForm, TokenForm, WebhookForm
from .models import ApiToken, CustomField, WebhookEndpoint
from .services.custom_field import custom_field_archive, custom_field_save
from .services.token import token_create, token_revoke
from .services.webhook import WEBHOOK_EVENTS, webhook_endpoint_save, webhook_redeliver


def _end_of_day(day: datetime.date, tz_name: str) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=zoneinfo.ZoneInfo(tz_name))


@tenant_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        expires = form.cleaned_data["expires_at"]
        try:
            _token, secret = token_create(
                acting_user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=_end_of_day(expires, request.tenant.timezone) if expires else None,
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            form = TokenForm()
    tokens = ApiToken.objects.visible_to(request.user).select_related("user").order_by("-created_at")[:200]
    context = {"form": form, "tokens": tokens, "secret": secret}
    return render(request, "api/token/list.html", context, status=form_status(form))


@tenant_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_token_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: token_revoke(acting_user=request.user, token=token),
        success=_("The token %(name)s is revoked.") % {"name": token.name},
        then="api:tokens",
    )


def _save_webhook(request: HttpRequest, form: WebhookForm, endpoint: WebhookEndpoint | None):
    try:
        return webhook_endpoint_save(
            acting_user=request.user,
            endpoint=endpoint,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
            is_active=form.cleaned_data["is_active"],
        )
    except DomainError as error:
        apply_domain_error(form, error)
        return None


@admin_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = _save_webhook(request, form, None)
        if endpoint is not None:
            messages.success(request, _("The webhook is registered. Its signing secret is shown on its page."))
            return redirect("api:webhook_edit", pk=endpoint.pk)
    endpoints = WebhookEndpoint.objects.filter(tenant=request.tenant).order_by("-created_at")[:200]
    context = {"form": form, "endpoints": endpoints, "event_labels": WEBHOOK_EVENTS}
    return render(request, "api/webhook/list.html", context, status=form_status(form))


@tenant_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_webhook_for_admin(request.user, pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if _save_webhook(request, form, endpoint) is not None:
            messages.success(request, _("The webhook is saved."))
            return redirect("api:webhook_edit", pk=endpoint.pk)
    deliveries = paginate(request, endpoint.deliveries.order_by("-created_at", "-pk"))
    context = {"form": form, "endpoint": endpoint, "deliveries": deliveries}
    return render(request, "api/webhook/edit.html", context, status=form_status(form))


@tenant_required
@require_POST
def webhook_redeliver_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_delivery_for_admin(request.user, pk)
    return domain_action(
        request,
        lambda: webhook_redeliver(acting_user=request.user, delivery=delivery),
        success=_("The delivery is queued again."),
        then=reverse("api:webhook_edit", kwargs={"pk": delivery.endpoint_id}),
    )


def _save_custom_field(request: HttpRequest, form: CustomFieldForm, field: CustomField | None):
    data = form.cleaned_data
    try:
        return custom_field_save(
            acting_user=request.user,
            field=field,
            kind=data.get("kind") or "",
            key=(data.get("key") or "").strip(),
            label=data["label"],
            type=data.get("type") or "",
            choices=form.choice_list(),
            required=data["required"],
            help_text=data["help_text"],
            position=data["position"],
        )
    except DomainError as error:
        apply_domain_error(form, error)
        return None


@admin_required
def custom_field_list(request: HttpRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _save_custom_field(request, form, None) is not None:
            messages.success(request, _("The field is added."))
            return redirect("api:custom_fields")
    fields = CustomField.objects.filter(tenant=request.tenant).order_by("kind", "archived_at", "position", "pk")
    context = {"form": form, "fields": fields[:500]}
    return render(request, "api/custom_field/list.html", context, status=form_status(form))


@tenant_required
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_custom_field_for_admin(request.user, pk)
    initial = {
        "kind": field.kind,
        "key": field.key,
        "type": field.type,
        "label": field.label,
        "choices": "\n".join(field.choices),
        "required": field.required,
        "help_text": field.help_text,
        "position": field.position,
    }
    form = CustomFieldForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        if _save_custom_field(request, form, field) is not None:
            messages.success(request, _("The field is saved."))
            return redirect("api:custom_fields")
    return render(request, "api/custom_field/edit.html", {"form": form, "field": field}, status=form_status(form))


@tenant_required
@require_POST
def custom_field_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    field = get_custom_field_for_admin(request.user, pk)
    custom_field_archive(acting_user=request.user, field=field, archived=field.archived_at is None)
    return redirect("api:custom_fields")


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema of /api/v1/, for users of a company."""


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files; its start-up script is a separate request, so no inline code."""

    template_name = "api/docs.html"
    url_name = "api:schema"
