"""The demo's public pool has a last month to show: claims and fallbacks on the pool health page, and pool customers
that say they fell back."""

import datetime as dt

import pytest
from django.urls import reverse

from crm import demo
from crm.models import User
from crm.tenancy import tenant_context
from crm.workcalendar.selectors import local_today
from customers import demo as customers_demo
from customers.models import Customer, OwnershipEvent
from customers.selectors.health import Period, pool_health


@pytest.mark.django_db
def test_the_demo_pool_has_claims_and_fallbacks_in_the_last_month(client):
    demo_tenant = demo.seed()[0]
    customers_demo.seed_tenant(demo_tenant)
    tenant = demo_tenant.tenant
    admin = User.objects.get(email="admin@demo.local")
    today = local_today(tenant)
    with tenant_context(tenant.pk):
        totals = pool_health(admin, Period.of(tenant, today - dt.timedelta(days=29), today)).totals
        assert totals.claims >= 5 and totals.fallbacks >= 5
        # Each story is consistent: a claimed customer is held by whom claimed it since then, a fallen one waits
        # in the pool since it fell.
        # in the pool since it fell (unless the demo moved it again later, as its hand-over does).
        for event in OwnershipEvent.objects.filter(tenant=tenant, reason__in=["claim", "fallback"]):
            customer = Customer.objects.get(pk=event.customer_id)
            if customer.ownership_events.order_by("-at", "-pk").first() != event:
                continue
            if event.reason == "claim":
                assert customer.owner_id == event.to_owner_id and customer.owned_since == event.at
            else:
                assert customer.owner_id is None and customer.pooled_at == event.at

    client.force_login(admin)
    assert client.get(reverse("pool:health")).status_code == 200
