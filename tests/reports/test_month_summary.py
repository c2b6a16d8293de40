"""The home widget's month: the expected amounts weighted per win probability (summed per probability, then
weighted), exactly as a weighting row by row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.selectors.forecast import month_summary
from sales.models import Opportunity
from tests.reports.builders import deal, stages
from tests.reports.test_dashboards import scope_for

pytestmark = pytest.mark.django_db


def test_the_expected_amount_is_weighted_by_each_deals_probability(world):
    _pipeline, open_stages, won, _lost = stages(world.tenant)
    deal(world.rep1, "默认概率", amount="1000.10", close_in_days=0)
    deal(world.rep1, "覆盖概率", amount="333.33", close_in_days=0, probability=35)
    deal(world.rep1, "同一概率", amount="0.07", close_in_days=0, probability=35)
    deal(world.rep1, "下一阶段", amount="250.00", path=[open_stages[1]], close_in_days=0)
    deal(world.rep1, "赢单", amount="500.00", path=[won])
    expected = sum(
        o.amount * o.probability / Decimal(100)
        for o in Opportunity.objects.filter(tenant=world.tenant, status="open").select_related("stage")
    )
    row = month_summary(scope_for(world.admin, "month"))
    assert row.weighted == expected and expected > 0
    assert row.won == Decimal("500.00")
    assert month_summary(scope_for(world.rep1, "month")).weighted == expected
