"""The forecast, team performance, a rep's trend and the home widget convert amounts in other currencies to the
company's through its exchange rates, and say on the page which rates they used and what they left out for want
of a rate; a rep still sees only their own figures, and another company's rates never count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import ExchangeRate
from reports.selectors.forecast import forecast, month_summary
from reports.selectors.performance import performance
from sales.models import Opportunity
from tests.reports.builders import deal, stages
from tests.reports.test_dashboards import scope_for

pytestmark = pytest.mark.django_db

LONG_AGO = dt.date(2000, 1, 1)


def _in(currency, opportunity):
    Opportunity.objects.filter(pk=opportunity.pk).update_announced(currency=currency)
    return opportunity


@pytest.fixture
def two_currencies(world, world_b):
    """rep1 won 1,000 CNY and 100 USD and has 200 USD open (10 %); rep2 won 10 EUR, which has no rate. The USD
    rate is an old month's (so it is the latest earlier one); the other company's USD rate must not count."""
    _pipeline, _open, won, _lost = stages(world.tenant)
    deal(world.rep1, "人民币单", amount="1000", path=[won])
    _in("USD", deal(world.rep1, "美元单", amount="100", path=[won]))
    _in("USD", deal(world.rep1, "美元在谈", amount="200", close_in_days=0))
    _in("EUR", deal(world.rep2, "欧元单", amount="10", path=[won]))
    ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=LONG_AGO, rate=Decimal("7.25"))
    ExchangeRate.objects.create(tenant=world_b.tenant, currency="EUR", month=LONG_AGO, rate=Decimal("8"))
    ExchangeRate.objects.create(tenant=world_b.tenant, currency="USD", month=LONG_AGO, rate=Decimal("1"))
    return world


def test_the_forecast_converts_each_amount_and_counts_those_without_a_rate(two_currencies):
    world = two_currencies
    total = forecast(scope_for(world.admin, "year")).total()
    assert total.won == Decimal("1725.00")  # 1,000 + 100 × 7.25; the 10 EUR left out
    assert total.won_count == 3
    assert total.unweighted == Decimal("1450.00")  # 200 × 7.25
    assert total.weighted == Decimal("145.00")  # 10 % of it
    note = forecast(scope_for(world.admin, "year")).conversion
    assert (note.missing, note.missing_currencies) == (1, {"EUR"})
    assert [(r.currency, r.rate) for r in note.used_rates()] == [("USD", Decimal("7.25"))]
    # A rep's forecast counts their own deals only, converted the same way.
    own = forecast(scope_for(world.rep1, "year"))
    assert own.total().won == Decimal("1725.00") and own.conversion.missing == 0


def test_team_performance_converts_won_amounts_and_ranks_by_them(two_currencies):
    world = two_currencies
    result = performance(scope_for(world.manager, "year"))
    rows = {r.user: r for r in result.reps}
    assert (rows[world.rep1].won, rows[world.rep1].won_amount) == (2, Decimal("1725.00"))
    assert (rows[world.rep2].won, rows[world.rep2].won_amount) == (1, Decimal("0"))
    assert result.reps[0].user == world.rep1
    assert (result.conversion.missing, result.conversion.missing_currencies) == (1, {"EUR"})


def test_the_pages_name_the_rates_used_and_the_amounts_left_out(two_currencies, client_for):
    world = two_currencies
    for name in ("reports:forecast", "reports:team"):
        page = client_for(world.manager).get(reverse(name), {"period": "year"}).content.decode()
        assert 'data-testid="rate-used"' in page and "USD 2000-01 = 7.25" in page, name
        assert "Left out of the sums, with no exchange rate for their month: 1 (in EUR)." in page, name
    rep_page = client_for(world.rep1).get(reverse("reports:rep", args=[world.rep1.pk])).content.decode()
    assert "USD 2000-01 = 7.25" in rep_page and "missing-rate" not in rep_page


def test_a_rate_added_later_brings_the_left_out_amounts_in(two_currencies):
    world = two_currencies
    ExchangeRate.objects.create(tenant=world.tenant, currency="EUR", month=LONG_AGO, rate=Decimal("7.9"))
    result = forecast(scope_for(world.admin, "year"))
    assert result.total().won == Decimal("1804.00") and result.conversion.missing == 0


def test_a_rate_only_for_a_later_month_does_not_convert(world):
    _pipeline, _open, won, _lost = stages(world.tenant)
    _in("USD", deal(world.rep1, "美元单", amount="100", path=[won]))
    ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=dt.date(2999, 1, 1), rate=Decimal("7"))
    result = forecast(scope_for(world.admin, "year"))
    assert result.total().won == Decimal("0") and result.conversion.missing == 1


def test_the_home_widget_converts_too(two_currencies):
    row = month_summary(scope_for(two_currencies.rep1, "month"))
    assert row.won == Decimal("1725.00")
