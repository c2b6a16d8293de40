"""Pool health (managers and admins): customers waiting per pool, claims and fallbacks per rep, drill-downs."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.web import paginate, tenant_required
from crm.workcalendar.selectors import local_today
from customers.access import can_see_health
from customers.forms.health import HealthDrillForm, HealthPeriodForm
from customers.models import Customer, OwnershipEvent
from customers.selectors.health import (
    BUCKETS,
    HOARD_CAP_SHARE,
    HOARD_RECENT_DAYS,
    HOARD_RECENT_SHARE,
    METRICS,
    drill_down,
    pool_health,
)

PRESETS = (7, 30, 90)


def _require_health(request: HttpRequest) -> None:
    if not can_see_health(request.user):
        raise PermissionDenied(_("Only managers and administrators see pool health."))


@tenant_required
def pool_health_view(request: HttpRequest) -> HttpResponse:
    _require_health(request)
    form = HealthPeriodForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(request, "customers/pool/health.html", {"form": form, "report": None}, status=422)
    period = form.period()
    today = local_today(request.tenant)
    presets = [
        {"days": days, "start": (today - dt.timedelta(days=days - 1)).isoformat(), "end": today.isoformat()}
        for days in PRESETS
    ]
    context = {
        "form": form,
        "report": pool_health(request.user, period),
        "period": period,
        "presets": presets,
        "buckets": BUCKETS,
        "hoard_cap_share": int(HOARD_CAP_SHARE * 100),
        "hoard_recent_share": int(HOARD_RECENT_SHARE * 100),
        "hoard_recent_days": HOARD_RECENT_DAYS,
        "period_query": f"start={period.start.isoformat()}&end={period.end.isoformat()}",
    }
    return render(request, "customers/pool/health.html", context)


@tenant_required
def health_customers(request: HttpRequest) -> HttpResponse:
    """The customers (or claims and fallbacks) behind one figure of the pool health page, scoped like the figure."""
    _require_health(request)
    form = HealthDrillForm(request.GET or None, user=request.user)
    if not form.is_valid():
        return render(request, "customers/pool/health_customers.html", {"form": form, "page": None}, status=422)
    data = form.cleaned_data
    metric = data["metric"]
    period = form.period()
    qs = drill_down(
        request.user,
        metric,
        period=period,
        pool=data.get("pool"),
        bucket=data.get("bucket") or None,
        rep=data.get("rep"),
        now=timezone.now(),
    )
    page = paginate(request, qs)
    items = list(page)
    customers = [i.customer if isinstance(i, OwnershipEvent) else i for i in items]
    ids = [c.pk for c in customers]
    # Say no more than the user may see: names and links only for customers they hold, manage or see in a pool.
    visible = set(Customer.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    pooled = set(Customer.objects.in_pools_for(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    rows = []
    for item, customer in zip(items, customers, strict=True):
        rows.append(
            {
                "event": item if isinstance(item, OwnershipEvent) else None,
                "customer": customer,
                "visible": customer.pk in visible,
                "pooled": customer.pk in pooled,
                "deleted": customer.deleted_at is not None,
            }
        )
    bucket_labels = {key: label for key, _low, _high, label in BUCKETS}
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "metric": metric,
        "metric_label": METRICS[metric],
        "pool": data.get("pool"),
        "bucket_label": bucket_labels.get(data.get("bucket") or ""),
        "rep": data.get("rep"),
        "period": period,
        "is_event": metric in ("claims", "claim_deals", "fallbacks"),
    }
    return render(request, "customers/pool/health_customers.html", context)
