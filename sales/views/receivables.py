"""Receivables: outstanding and overdue amounts per customer or per rep with aging buckets, and the instalments
behind each figure."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from crm.forms import QueryForm
from crm.models import User
from crm.web import PAGE_SIZE, paginate, tenant_required
from crm.workcalendar.selectors import local_today
from customers.models import Customer
from sales.access import require_sales
from sales.selectors.receivables import BUCKETS, bucket_filter, open_instalments, receivables

BUCKET_CHOICES = [("overdue", "overdue"), ("current", "current"), *((b, b) for b in BUCKETS)]


class ReceivablesQuery(QueryForm):
    by = forms.ChoiceField(choices=[("customer", "customer"), ("rep", "rep")], required=False)
    defaults = {"by": "customer"}


class InstalmentQuery(QueryForm):
    customer = forms.IntegerField(required=False, min_value=1)
    rep = forms.IntegerField(required=False, min_value=1)
    bucket = forms.ChoiceField(choices=BUCKET_CHOICES, required=False)


@tenant_required
def receivables_view(request: HttpRequest) -> HttpResponse:
    require_sales(request.user)
    by = ReceivablesQuery(request.GET).value("by")
    today = local_today(request.tenant)
    return render(
        request,
        "sales/receivables/summary.html",
        {"rows": receivables(request.user, by=by, today=today), "by": by, "buckets": list(BUCKETS), "today": today},
    )


@tenant_required
def receivable_instalments(request: HttpRequest) -> HttpResponse:
    """The instalments behind a figure; another tenant's customer or rep is 404."""
    require_sales(request.user)
    query = InstalmentQuery(request.GET)
    today = local_today(request.tenant)
    qs = open_instalments(request.user).select_related("contract__customer", "contract__owner")
    customer_id, rep_id, bucket = query.value("customer"), query.value("rep"), query.value("bucket")
    if customer_id:
        if not Customer.objects.filter(tenant=request.tenant, pk=customer_id).exists():
            raise Http404
        qs = qs.filter(contract__customer_id=customer_id)
    if rep_id:
        if not User.objects.filter(tenant=request.tenant, pk=rep_id).exists():
            raise Http404
        qs = qs.filter(contract__owner_id=rep_id)
    if bucket:
        qs = qs.filter(bucket_filter(bucket, today))
    page = paginate(request, qs.order_by("due_on", "pk"), PAGE_SIZE)
    for instalment in page:
        instalment.days_late = max((today - instalment.due_on).days, 0)
    return render(request, "sales/receivables/instalments.html", {"page": page, "bucket": bucket})
