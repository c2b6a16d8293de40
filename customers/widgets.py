"""Home-page widget of the customers app: the rep's own book at a glance (a fixed number of queries)."""

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from crm.workcalendar.selectors import local_midnight, local_today
from customers.models import Customer, OwnershipEvent

STALE_DAYS = 30
# "Falling back this week": the next seven local days, at most this many shown.
FALLBACK_WEEK_DAYS = 7
FALLBACK_SHOWN = 5


def my_customers(request) -> dict:
    user = request.user
    stale_before = timezone.now() - timedelta(days=STALE_DAYS)
    mine = Customer.objects.visible_to(user).filter(owner=user)
    counts = mine.aggregate(
        total=Count("pk"),
        stale=Count("pk", filter=Q(last_followed_up_at__lt=stale_before) | Q(last_followed_up_at__isnull=True)),
        key=Count("pk", filter=Q(is_key_account=True)),
    )
    longest = mine.order_by("last_followed_up_at", "pk").select_related("level")[:5]
    # Falling back within the week: the stored fall-back moments (the fallback job's own arithmetic), soonest first.
    tenant = request.tenant
    week_end = local_midnight(tenant, local_today(tenant) + timedelta(days=FALLBACK_WEEK_DAYS))
    falling = list(mine.filter(fallback_at__lt=week_end).order_by("fallback_at", "pk")[:FALLBACK_SHOWN])
    return {
        "counts": counts,
        "longest": longest,
        "stale_days": STALE_DAYS,
        "falling_back": falling,
        "fallback_week_days": FALLBACK_WEEK_DAYS,
    }


def ownership_timeline_context(request: HttpRequest, customer: Customer) -> dict:
    events = (
        OwnershipEvent.objects.filter(tenant=customer.tenant, customer=customer)
        .select_related("from_owner", "to_owner", "actor", "from_pool", "to_pool")
        .order_by("-at", "-pk")[:100]
    )
    return {"events": events}
