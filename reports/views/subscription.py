"""Scheduled reports: my subscriptions, subscribing from a dashboard, ending one, and a delivered PDF."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.errors import DomainError
from crm.web import apply_domain_error, tenant_required
from reports.access import get_delivery_for_user, get_subscription_for_user, require_reports
from reports.forms.subscription import SubscriptionForm
from reports.models import ReportSubscription
from reports.services.subscription import subscription_create, subscription_delete


@tenant_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    require_reports(request.user)
    if request.method == "POST":
        form = SubscriptionForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                subscription_create(acting_user=request.user, **form.cleaned_data)
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Subscribed. The report will come by email."))
                return redirect("reports:subscriptions")
    else:
        form = SubscriptionForm(
            initial={"dashboard": request.GET.get("dashboard", "funnel"), "filters": request.GET.get("filters", "")},
            user=request.user,
        )
    subscriptions = (
        ReportSubscription.objects.filter(tenant_id=request.user.tenant_id)
        .filter(Q(user=request.user) | Q(created_by=request.user))
        .select_related("user")
        .prefetch_related("deliveries")
        .order_by("dashboard", "pk")
    )
    rows = []
    for subscription in subscriptions:
        latest = max(subscription.deliveries.all(), key=lambda d: d.created_at, default=None)
        mine = subscription.user_id == request.user.pk
        rows.append({"subscription": subscription, "latest": latest if mine else None, "mine": mine})
    status = 422 if form.errors else 200
    return render(
        request, "reports/subscriptions.html", {"form": form, "rows": rows, "dashboard": "subscriptions"}, status=status
    )


@tenant_required
@require_POST
def subscription_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_subscription_for_user(request.user, pk)
    subscription_delete(acting_user=request.user, subscription=subscription)
    messages.success(request, _("Subscription ended."))
    return redirect("reports:subscriptions")


@tenant_required
def delivery_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_delivery_for_user(request.user, pk)
    response = HttpResponse(bytes(delivery.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{delivery.filename or "report.pdf"}"'
    return response
