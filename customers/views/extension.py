"""Extension requests: a rep asks for more time before a fallback, their manager decides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.models import Role
from crm.web import paginate, tenant_required
from customers.access import can_decide, get_customer_for_user
from customers.forms.extension import ExtensionRequestForm
from customers.models import Customer, ExtensionRequest
from customers.services.extension import extension_decide, extension_request


@tenant_required
@require_POST
def extension_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need more time."))
    else:
        try:
            extension_request(acting_user=request.user, customer=customer, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your manager was asked to extend %(name)s.") % {"name": customer.name})
    return redirect(safe_redirect_url(request, request.POST.get("next"), reverse("pool:at_risk")))


@tenant_required
def extensions(request: HttpRequest) -> HttpResponse:
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators decide extensions."))
    scope = Customer.objects.managed_by(request.user).values("pk")
    qs = (
        ExtensionRequest.objects.for_tenant(request.tenant)
        .filter(customer__in=scope)
        .select_related("customer", "requested_by", "decided_by")
        .order_by("status", "-created_at")
    )
    return render(request, "customers/pool/extensions.html", {"page": paginate(request, qs)})


@tenant_required
@require_POST
def extension_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    ext = get_object_or_404(ExtensionRequest.objects.for_tenant(request.tenant).select_related("customer"), pk=pk)
    if not can_decide(request.user, ext):
        raise Http404
    try:
        ext = extension_decide(acting_user=request.user, request=ext, approve=request.POST.get("approve") == "1")
    except DomainError as exc:
        messages.error(request, exc.message)
        ext.error = exc.message
    if request.htmx:
        return render(request, "customers/pool/partials/extension_row.html", {"r": ext})
    return redirect("pool:extensions")
