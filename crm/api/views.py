"""Settings → API tokens (make, list, revoke) and the API's schema and docs pages."""

from __future__ import annotations

import datetime
import zoneinfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crm.errors import DomainError
from crm.web import apply_domain_error, form_status, tenant_required

from .access import get_token_for_user
from .forms import TokenForm
from .models import ApiToken
from .services.token import token_create, token_revoke


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
    try:
        token_revoke(acting_user=request.user, token=token)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The token %(name)s is revoked.") % {"name": token.name})
    return redirect("api:tokens")


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema of /api/v1/, for users of a company."""


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files; its start-up script is a separate request, so no inline code."""

    template_name = "api/docs.html"
    url_name = "api:schema"
