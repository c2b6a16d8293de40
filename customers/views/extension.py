"""Extension requests: a rep asks for more time before a fallback, their manager decides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import safe_redirect_url
from crm.approvals.models import ApprovalRequest
from crm.approvals.widgets import decision_context
from crm.models import Role
from crm.web import domain_action, paginate, tenant_required
from customers.access import get_customer_for_user
from customers.forms.extension import ExtensionRequestForm
from customers.models import Customer, ExtensionRequest
from customers.services.extension import EXTENSION_KIND, extension_request


@tenant_required
@require_POST
def extension_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need more time."))
    else:
        return domain_action(
            request,
            lambda: extension_request(acting_user=request.user, customer=customer, reason=form.cleaned_data["reason"]),
            success=_("Your manager was asked to extend %(name)s.") % {"name": customer.name},
            then=safe_redirect_url(request, request.POST.get("next"), reverse("pool:at_risk")),
        )
    return redirect(safe_redirect_url(request, request.POST.get("next"), reverse("pool:at_risk")))


@tenant_required
def extensions(request: HttpRequest) -> HttpResponse:
    """The extension requests of the customers a manager manages, each with its approval's one-click decision."""
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators decide extensions."))
    scope = Customer.objects.managed_by(request.user).values("pk")
    qs = (
        ExtensionRequest.objects.for_tenant(request.tenant)
        .filter(customer__in=scope)
        .select_related("customer", "requested_by")
        .order_by("status", "-created_at")
    )
    page = paginate(request, qs)
    ids = [r.pk for r in page]
    approvals = {
        a.object_id: a
        for a in ApprovalRequest.objects.for_tenant(request.tenant)
        .filter(kind=EXTENSION_KIND, object_id__in=ids)
        .select_related("decided_by")
        .order_by("created_at", "pk")
    }
    waiting = set(
        ApprovalRequest.objects.waiting_for(request.user)
        .filter(pk__in=[a.pk for a in approvals.values()])
        .values_list("pk", flat=True)
    )
    back = reverse("pool:extensions")
    for r in page:
        approval = approvals.get(r.pk)
        if approval is not None:
            r.decision = decision_context(approval, decidable=approval.pk in waiting, next=back)
    return render(request, "customers/pool/extensions.html", {"page": page})
