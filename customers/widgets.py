"""Home-page widget of the customers app: the rep's own book at a glance (a fixed number of queries)."""

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from customers.models import Customer, OwnershipEvent

STALE_DAYS = 30


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
    return {"counts": counts, "longest": longest, "stale_days": STALE_DAYS}


def ownership_timeline_context(request: HttpRequest, customer: Customer) -> dict:
    events = (
        OwnershipEvent.objects.filter(tenant=customer.tenant, customer=customer)
        .select_related("from_owner", "to_owner", "actor", "from_pool", "to_pool")
        .order_by("-at", "-pk")[:100]
    )
    return {"events": events}
