"""/approvals/: what waits for my decision, what I asked, and one request with its history; deciding in one click
(also from the notification) and withdrawing."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.models import Role
from crm.web import domain_action, next_url, paginate, tenant_required

from . import access, services
from .filters import ApprovalRequestFilter
from .forms import DecisionForm
from .models import ApprovalRequest, ApprovalStep
from .widgets import decision_context, kind_labels


@tenant_required
@vary_on_headers("HX-Request")
def approval_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    data = request.GET.copy()
    if not data.get("box"):
        data["box"] = "waiting" if user.has_any_role(Role.ADMIN, Role.MANAGER) else "asked"
    base = ApprovalRequest.objects.visible_to(user).select_related("requested_by").prefetch_related("steps")
    filterset = ApprovalRequestFilter(data, queryset=base, user=user)
    qs = filterset.qs if filterset.is_valid() else base.none()
    page = paginate(request, qs.order_by("-created_at", "-id"))
    ids = [a.pk for a in page]
    waiting = set(ApprovalRequest.objects.waiting_for(user).filter(pk__in=ids).values_list("pk", flat=True))
    labels = kind_labels()
    rows = []
    for approval in page:
        approval.kind_label = labels.get(approval.kind, approval.kind)
        rows.append((approval, decision_context(approval, decidable=approval.pk in waiting)))
    context = {"filter": filterset, "page": page, "rows": rows}
    template = "approvals/request/partials/rows.html" if request.htmx else "approvals/request/list.html"
    return render(request, template, context)


@tenant_required
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = access.get_approval_for_user(request.user, pk)
    steps = ApprovalStep.objects.filter(request=approval).select_related("decided_by").order_by("order")
    context = {
        "approval": approval,
        "steps": steps,
        "can_withdraw": access.can_withdraw(request.user, approval),
        "kind_label": kind_labels().get(approval.kind, approval.kind),
        "decision": decision_context(approval, decidable=access.can_decide(request.user, approval), htmx=False),
    }
    return render(request, "approvals/request/detail.html", context)


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = access.get_approval_for_user(request.user, pk)
    form = DecisionForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            approval = services.approval_decide(
                acting_user=request.user,
                request_id=approval.pk,
                step=data["step"],
                approve=data["decision"] == "approve",
                comment=data["comment"],
            )
        except DomainError as exc:
            error = exc.message
    else:
        error = _("Choose approve or reject.")
    if request.htmx:
        approval = access.get_approval_for_user(request.user, pk)
        context = decision_context(approval, decidable=access.can_decide(request.user, approval), error=error)
        return render(request, "approvals/request/partials/decision.html", context)
    if error:
        messages.error(request, error)
    elif approval.status == ApprovalRequest.Status.WITHDRAWN:
        messages.warning(request, _("What this request was about no longer exists; the request is closed."))
    elif approval.status == ApprovalRequest.Status.PENDING:
        messages.success(request, _("Your approval is recorded; the request goes to the next step."))
    else:
        messages.success(request, _("Decision recorded: %(status)s.") % {"status": approval.get_status_display()})
    return redirect(next_url(request, reverse("approvals:detail", args=[pk])))


@tenant_required
@require_POST
def approval_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    approval = access.get_approval_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: services.approval_withdraw(acting_user=request.user, request_id=approval.pk),
        success=_("Request withdrawn."),
        then=reverse("approvals:detail", kwargs={"pk": pk}),
    )
