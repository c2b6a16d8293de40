"""The funnel's cohort opens the opportunity list with the same filters (period created, pipeline, team with its
sub-teams, rep), and the list's new period and team filters count what the funnel counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from crm.workcalendar.selectors import local_today
from reports.selectors.funnel import funnel
from tests.sales.helpers import make_customer

from .builders import bulk_deals, deal, stages
from .test_dashboards import scope_for

pytestmark = pytest.mark.django_db


def listed(client, query: str) -> int:
    page = client.get(f"{reverse('sales:opportunity_list')}?{query}").content.decode()
    return len(set(re.findall(r'href="/opportunities/(\d+)/"', page)))


def test_the_funnel_cohort_opens_the_opportunity_list_with_its_filters(world, client_for):
    _pipeline, open_stages, won, _lost = stages(world.tenant)
    deal(world.rep1, "一组赢单", amount="1000", path=[won])
    deal(world.rep1, "一组进行中", amount="1000", path=[open_stages[1]])
    deal(world.rep2, "二组进行中", amount="1000")
    c = client_for(world.manager)
    page = c.get(reverse("reports:funnel"), {"team": world.team1.pk}).content.decode()
    link = re.search(r'href="/opportunities/\?([^"]+)" data-testid="cohort-list"', page).group(1).replace("&amp;", "&")
    assert f"team={world.team1.pk}" in link and "created_from=" in link and "status=all" in link
    assert listed(c, link) == funnel(scope_for(world.manager, team=world.team1)).cohort == 2


def test_the_list_filters_by_period_created_and_closed_and_by_team(world, client_for):
    _pipeline, _open_stages, won, _lost = stages(world.tenant)
    deal(world.rep1, "赢单", amount="1000", path=[won])
    deal(world.rep2, "进行中", amount="1000")
    c = client_for(world.admin)
    today = local_today(world.tenant).isoformat()
    yesterday = (local_today(world.tenant) - dt.timedelta(days=1)).isoformat()
    assert listed(c, f"status=all&created_from={today}&created_to={today}") == 2
    assert listed(c, f"status=all&created_to={yesterday}") == 0
    assert listed(c, f"status=all&closed_from={today}") == 1
    assert listed(c, f"status=all&team={world.team2.pk}") == 1
    assert listed(c, f"status=all&team={world.sales.pk}") == 2
    # A bad date falls back to no filter, never a 500.
    assert c.get(reverse("sales:opportunity_list"), {"created_from": "2026-13-40"}).status_code in (200, 422)


def test_a_rep_has_no_team_filter_and_the_list_stays_bounded(world, client_for, django_assert_max_num_queries):
    customer = make_customer(world.rep1, "批量客户")
    bulk_deals(world.rep1, customer, 30)
    c = client_for(world.manager)
    today = local_today(world.tenant).isoformat()
    with django_assert_max_num_queries(30):
        response = c.get(
            reverse("sales:opportunity_list"),
            {"status": "all", "created_from": "2026-01-01", "created_to": today, "team": world.team1.pk},
        )
    assert response.status_code == 200
    assert 'name="team"' not in client_for(world.rep1).get(reverse("sales:opportunity_list")).content.decode()
