"""What customer care shows on pages crm and customers own: the customer page's greetings-and-coupons panel."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest

from customers.models import Customer
from marketing.models import Coupon, Greeting
from marketing.selectors.rfm import rfm_score_of


def care_panel(request: HttpRequest, customer: Customer) -> dict:
    """The customer's greetings (latest first) and coupons (issued, redeemed): three queries, whatever the count.
    The customer page is shown only to those who may see the customer."""
    greetings = list(
        Greeting.objects.filter(tenant_id=customer.tenant_id, customer=customer, status=Greeting.Status.QUEUED)
        .select_related("campaign", "contact", "message", "coupon")
        .order_by("-occasion", "-pk")[:10]
    )
    coupons = Coupon.objects.filter(tenant_id=customer.tenant_id, customer=customer).aggregate(
        issued=Count("pk"), redeemed=Count("pk", filter=Q(redeemed_at__isnull=False))
    )
    return {"customer": customer, "greetings": greetings, "coupons": coupons}


def rfm_panel(request: HttpRequest, customer: Customer) -> dict:
    """The customer's RFM scores and cell (one query); nothing when it has no order in the window."""
    return {"score": rfm_score_of(customer)}
