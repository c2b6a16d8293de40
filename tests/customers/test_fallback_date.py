"""The fall-back date (customers.selectors.pool.with_fallback_at) agrees with THE predicate the job uses: on the
local day it names, fallback_due counts the customer, and not the day before — for levels with their own rules, the
deal clock, extensions, exempt key accounts and customers in the pool."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerLevel, PoolLevelRule
from customers.selectors.pool import computed_day, fallback_due, with_fallback_at
from customers.services.tenant import tenant_defaults

from .test_pool import owned, pool_for, pooled

pytestmark = pytest.mark.django_db


def noon(tenant, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tenant.tzinfo)


def test_the_date_is_the_day_the_predicate_first_says_due(world_a):
    tenant_defaults(tenant=world_a.tenant)
    pool = pool_for(world_a, no_followup_days=30, no_deal_days=90, exempt_key_accounts=True)
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    PoolLevelRule.objects.create(tenant=world_a.tenant, pool=pool, level=level_a, no_followup_days=60)
    rep = world_a.rep1
    customers = [
        owned(world_a, rep, "默认规则", owned_days_ago=95, followed_days_ago=3),
        owned(world_a, rep, "从未跟进", owned_days_ago=10),
        owned(world_a, rep, "A级", owned_days_ago=45, followed_days_ago=20, level=level_a),
        owned(world_a, rep, "延期", owned_days_ago=50, followed_days_ago=25),
        owned(world_a, rep, "重点", owned_days_ago=50, followed_days_ago=29, is_key_account=True),
    ]
    Customer.objects.filter(pk=customers[3].pk).update(extension_days=7)
    Customer.objects.filter(pk=customers[0].pk).update(last_deal_at=timezone.now() - dt.timedelta(days=89))
    (in_pool,) = pooled(world_a, "公海里")
    rows = {c.pk: c for c in with_fallback_at(Customer.objects.filter(tenant=world_a.tenant), world_a.tenant)}
    assert rows[in_pool.pk].computed_fallback_at is None and rows[customers[4].pk].computed_fallback_at is None
    today = timezone.localtime(timezone.now(), world_a.tenant.tzinfo).date()
    for customer in customers[:4]:
        day = computed_day(rows[customer.pk])
        assert day is not None and day >= today, customer.name
        ahead = (day - today).days
        due_on_day = fallback_due(pool, days_ahead=ahead).filter(pk=customer.pk).exists()
        due_before = ahead > 0 and fallback_due(pool, days_ahead=ahead - 1).filter(pk=customer.pk).exists()
        assert due_on_day and not due_before, (customer.name, day)
    # The deal clock is the nearer one for the first: 89 days of its 90 gone.
    assert computed_day(rows[customers[0].pk]) == today + dt.timedelta(days=1)
    assert computed_day(rows[customers[3].pk]) == today + dt.timedelta(days=12)  # 30 - 25 + 7
    assert computed_day(rows[customers[2].pk]) == today + dt.timedelta(days=40)  # its level: 60 - 20


def test_no_rule_no_date(world_a):
    pool_for(world_a)
    customer = owned(world_a, world_a.rep1, "无规则", owned_days_ago=400)
    row = with_fallback_at(Customer.objects.filter(pk=customer.pk), world_a.tenant).get()
    assert row.computed_fallback_at is None


# --- where it is shown -------------------------------------------------------------------------------------------------


def at_risk_book(world_a):
    pool_for(world_a, no_followup_days=30, warn_days_before=5)
    soon = owned(world_a, world_a.rep1, "三天后", owned_days_ago=60, followed_days_ago=27)
    later_one = owned(world_a, world_a.rep1, "二十天后", owned_days_ago=60, followed_days_ago=10)
    return soon, later_one


def today_of(world_a):
    return timezone.localtime(timezone.now(), world_a.tenant.tzinfo).date()


def test_the_customer_page_shows_the_date_and_the_extension_button(world_a, client_for):
    soon, _later = at_risk_book(world_a)
    body = client_for(world_a.rep1).get(reverse("customers:detail", args=[soon.pk])).content.decode()
    day = (today_of(world_a) + dt.timedelta(days=3)).isoformat()
    assert 'data-testid="fallback-notice"' in body and f'datetime="{day}"' in body
    assert 'data-testid="extension-ask"' in body
    # The manager sees the date, not the owner's button; a customer in the pool has no date.
    body = client_for(world_a.manager).get(reverse("customers:detail", args=[soon.pk])).content.decode()
    assert f'datetime="{day}"' in body and 'data-testid="extension-ask"' not in body


def test_asking_for_an_extension_from_the_customer_page(world_a, client_for):
    soon, _later = at_risk_book(world_a)
    c = client_for(world_a.rep1)
    url = reverse("customers:detail", args=[soon.pk])
    r = c.post(reverse("pool:extension_request", args=[soon.pk]), {"reason": "下周签约", "next": url})
    assert r.status_code == 302 and r["Location"] == url
    body = c.get(url).content.decode()
    assert 'data-testid="extension-ask"' not in body and 'data-testid="extension-pending"' in body


def test_the_list_sorts_by_the_date_with_few_queries(world_a, client_for, django_assert_max_num_queries):
    soon, later_one = at_risk_book(world_a)
    for i in range(8):
        owned(world_a, world_a.rep1, f"远{i}", owned_days_ago=5)
    c = client_for(world_a.rep1)
    # 16, with the rep's shares read before the list and the page's ids before its rows.
    with django_assert_max_num_queries(18):
        r = c.get(reverse("customers:list"), {"sort": "fallback"})
    names = [cu.name for cu in r.context["customers"]]
    assert names[:2] == ["三天后", "二十天后"]
    body = r.content.decode()
    assert f'datetime="{(today_of(world_a) + dt.timedelta(days=3)).isoformat()}"' in body
    assert 'data-testid="sort-fallback"' in body
    with django_assert_max_num_queries(18):
        assert c.get(reverse("customers:list")).status_code == 200


def test_home_shows_what_falls_back_this_week_and_at_risk_the_date(world_a, client_for):
    soon, later_one = at_risk_book(world_a)
    c = client_for(world_a.rep1)
    body = c.get(reverse("home")).content.decode()
    falling = body.split('data-testid="falling-back"')[1].split("</ul>")[0]
    assert "三天后" in falling and "二十天后" not in falling
    body = c.get(reverse("pool:at_risk")).content.decode()
    assert f'data-testid="fallback-{soon.pk}"' in body
    assert f'datetime="{(today_of(world_a) + dt.timedelta(days=3)).isoformat()}"' in body
