"""Exchange rates: the conversion rule (the month's rate, else the latest earlier one; none before the first),
Settings → Exchange rates (one rate, pasted lines, clear errors with nothing saved, admins only, another company's
rate 404), and the figures converted with them: the funnel's amounts and a marketing campaign's won amount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditEvent, ExchangeRate
from crm.selectors.exchange_rate import ConvertedSum, Rates
from crm.workcalendar.selectors import local_today
from marketing.selectors.marketing_campaign import campaign_figures
from reports.selectors.funnel import funnel, funnel_from_history
from reports.services.funnel_facts import funnel_facts_refresh
from sales.models import Opportunity
from tests.marketing.campaigns import campaign_lead, make_campaign, won_deal
from tests.reports.builders import deal, stages
from tests.reports.test_dashboards import scope_for
from tests.sales.helpers import in_english

pytestmark = pytest.mark.django_db

NOV, OCT, SEP = dt.date(2026, 11, 1), dt.date(2026, 10, 1), dt.date(2026, 9, 1)


def test_an_amount_takes_its_months_rate_else_the_latest_earlier_one():
    rates = Rates("CNY", [("USD", OCT, Decimal("7.10")), ("USD", NOV, Decimal("7.20")), ("EUR", OCT, Decimal("7.8"))])
    assert rates.convert(Decimal("100"), "USD", dt.date(2026, 11, 15)) == Decimal("720.00")
    assert rates.convert(Decimal("100"), "USD", dt.date(2026, 12, 3)) == Decimal("720.00")
    assert rates.convert(Decimal("100"), "USD", dt.date(2026, 10, 31)) == Decimal("710.00")
    assert rates.convert(Decimal("100"), "USD", dt.date(2026, 9, 30)) is None
    assert rates.convert(Decimal("100"), "JPY", NOV) is None
    assert rates.convert(Decimal("100"), "CNY", None) == Decimal("100")
    # Into another currency through the company's: 100 EUR × 7.8 ÷ 7.10.
    assert rates.convert(Decimal("100"), "EUR", OCT, to="USD") == Decimal("109.86")


def test_a_sum_says_which_rates_it_used_and_what_it_left_out():
    rates = Rates("CNY", [("USD", OCT, Decimal("7"))])
    total = ConvertedSum("CNY")
    rates.add(total, Decimal("1000"), "CNY", NOV, 3)
    rates.add(total, Decimal("10"), "USD", NOV, 2)
    rates.add(total, Decimal("10"), "USD", SEP, 1)
    rates.add(total, Decimal("50"), "EUR", NOV, 4)
    assert total.total == Decimal("1070.00")
    assert [(r.currency, r.month, r.rate) for r in total.used_rates()] == [("USD", OCT, Decimal("7"))]
    assert (total.missing, total.missing_currencies) == (5, {"USD", "EUR"})


@pytest.fixture
def world(world_a):
    in_english(world_a.admin, world_a.manager, world_a.rep1, world_a.rep2)
    return world_a


def test_an_admin_sets_rates_one_at_a_time_or_pasted(world, client_for):
    c = client_for(world.admin)
    url = reverse("settings:exchange_rates")
    assert c.post(url, {"currency": "USD", "month": "2026-11", "rate": "7.1234"}).status_code == 302
    assert c.post(url, {"currency": "USD", "month": "2026-11", "rate": "7.2"}).status_code == 302
    assert c.post(url, {"text": "EUR, 2026-10, 7.8\nHKD\t2026-11\t0.92\n"}).status_code == 302
    rows = sorted(ExchangeRate.objects.filter(tenant=world.tenant).values_list("currency", "month", "rate"))
    assert rows == [("EUR", OCT, Decimal("7.8")), ("HKD", NOV, Decimal("0.92")), ("USD", NOV, Decimal("7.2"))]
    assert AuditEvent.objects.filter(tenant=world.tenant, action="exchange_rate.save").count() == 4
    page = c.get(url).content.decode()
    assert 'data-testid="rates"' in page and "7.2" in page and "2026-10" in page


def test_bad_rates_are_refused_clearly_with_nothing_saved(world, client_for):
    c = client_for(world.admin)
    url = reverse("settings:exchange_rates")
    response = c.post(url, {"currency": "USD", "month": "2026-11", "rate": "0"})
    assert response.status_code in (400, 422)
    response = c.post(url, {"text": "USD, 2026-11, 7.1\nCNY, 2026-11, 1\n"})
    assert response.status_code in (400, 422)
    assert "Line 2: CNY is your company&#x27;s own currency" in response.content.decode()
    response = c.post(url, {"text": "USD, 2026-11, 7.1\nUSD, next month, 7\n"})
    assert "Line 2: Enter the month" in response.content.decode()
    assert not ExchangeRate.objects.exists()


def test_only_admins_keep_rates_and_another_companys_rate_is_404(world, world_b, client_for):
    assert client_for(world.manager).get(reverse("settings:exchange_rates")).status_code == 403
    theirs = ExchangeRate.objects.create(tenant=world_b.tenant, currency="USD", month=NOV, rate=7)
    mine = ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=NOV, rate=7)
    c = client_for(world.admin)
    assert c.post(reverse("settings:exchange_rate_delete", args=[theirs.pk])).status_code == 404
    assert client_for(world.manager).post(reverse("settings:exchange_rate_delete", args=[mine.pk])).status_code == 403
    assert c.post(reverse("settings:exchange_rate_delete", args=[mine.pk])).status_code == 302
    assert list(ExchangeRate.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_the_rates_page_runs_a_bounded_number_of_queries(world, client_for, django_assert_max_num_queries):
    for month in range(1, 13):
        for currency in ("USD", "EUR", "HKD"):
            ExchangeRate.objects.create(tenant=world.tenant, currency=currency, month=dt.date(2026, month, 1), rate=7)
    c = client_for(world.admin)
    with django_assert_max_num_queries(12):
        assert c.get(reverse("settings:exchange_rates")).status_code == 200


def _in_dollars(opportunity):
    Opportunity.objects.filter(pk=opportunity.pk).update(currency="USD")
    funnel_facts_refresh(tenant_id=opportunity.tenant_id, opportunity_ids=[opportunity.pk])


def test_the_funnel_converts_other_currencies_and_flags_those_without_a_rate(world, client_for):
    _pipeline, open_stages, won, _lost = stages(world.tenant)
    deal(world.rep1, "人民币", amount="1000", path=[won])
    _in_dollars(deal(world.rep1, "美元", amount="100", path=[won]))
    scope = scope_for(world.manager)
    before = funnel(scope)
    assert (before.won, before.won_amount, before.other_currencies) == (2, Decimal("1000"), 1)
    month = local_today(world.tenant).replace(day=1)
    ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=month, rate=Decimal("7.25"))
    after = funnel(scope)
    assert (after.won_amount, after.other_currencies) == (Decimal("1725.00"), 0)
    assert after.stages[0].amount == Decimal("1725.00")
    assert funnel_from_history(scope).won_amount == after.won_amount
    page = client_for(world.manager).get(reverse("reports:funnel")).content.decode()
    assert 'data-testid="rate-used"' in page and "USD" in page and "7.25" in page


def test_the_funnel_page_flags_amounts_without_a_rate(world, client_for):
    _in_dollars(deal(world.rep1, "美元", amount="100"))
    page = client_for(world.manager).get(reverse("reports:funnel")).content.decode()
    assert 'data-testid="missing-rate"' in page
    assert "Left out of the sums, with no exchange rate for their month: 1 (in USD)." in page


def test_a_campaigns_won_amount_converts_deals_in_other_currencies(world, client_for):
    campaign = make_campaign(world)
    won_deal(world.rep1, campaign_lead(world.rep1, "张三", campaign.code), "1000")
    dollars = won_deal(world.rep1, campaign_lead(world.rep1, "李四", campaign.code), "100")
    Opportunity.objects.filter(pk=dollars.opportunity.pk).update(currency="USD")
    figures = campaign_figures(world.manager, campaign)
    assert (figures.won, figures.won_amount, figures.other_currency_won) == (2, Decimal("1000"), 1)
    ExchangeRate.objects.create(
        tenant=world.tenant, currency="USD", month=local_today(world.tenant).replace(day=1), rate=7
    )
    figures = campaign_figures(world.manager, campaign)
    assert (figures.won_amount, figures.other_currency_won) == (Decimal("1700.00"), 0)
    assert figures.roi_percent == Decimal("-95.8")
    c = client_for(world.manager)
    listing = c.get(reverse("campaigns:list")).content.decode()
    assert "1,700" in listing
    detail = c.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="rate-used"' in detail
