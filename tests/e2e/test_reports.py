"""A sales manager's Monday in the browser: the funnel with its chart drawn under the Content-Security-Policy, a
figure opened to the records behind it, the forecast against a target set in the targets grid, the PDF downloaded;
and the same dashboard at phone width in Chinese."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from reports.models import SalesTarget
from sales.services.pipeline import ensure_default_pipeline
from tests.conftest import build_world
from tests.e2e.test_csp import WATCH, log_in
from tests.reports.builders import deal, stages
from tests.sales.helpers import in_english

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def seeded_world():
    world = build_world("REP")
    in_english(world.manager)
    ensure_default_pipeline(world.tenant)
    _pipeline, open_stages, won, lost = stages(world.tenant)
    deal(world.rep1, "赢单一", amount="40000", path=[open_stages[1], won])
    deal(world.rep1, "丢单一", amount="10000", path=[open_stages[2], lost], lost_reason="价格太高")
    deal(world.rep2, "谈判中", amount="20000", path=[open_stages[3]], close_in_days=0)
    return world


def test_a_manager_reads_the_funnel_drills_down_and_sets_a_target(e2e_new_page):
    world = seeded_world()
    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.add_init_script(WATCH)
    log_in(page, world.manager.email)
    page.click("[data-testid=main-nav] >> text=Reports")
    expect(page.locator("[data-testid=funnel-table]")).to_be_visible()
    expect(page.locator("canvas[data-chart=funnel]")).to_have_attribute("data-drawn", "1")
    expect(page.locator("[data-testid=kpi-cohort]")).to_have_text("3")
    page.click("[data-testid=kpi-win-rate] ~ span >> text=1 won")
    expect(page.locator("[data-testid=records]")).to_contain_text("赢单一")
    expect(page.locator("[data-testid=records]")).not_to_contain_text("丢单一")

    # Filter by a rep: the URL carries it.
    page.goto("/reports/")
    page.select_option("[data-testid=filter-rep]", str(world.rep2.pk))
    page.click("[data-testid=filters-apply]")
    expect(page).to_have_url(re.compile(rf"rep={world.rep2.pk}"))
    expect(page.locator("[data-testid=kpi-cohort]")).to_have_text("1")

    # A target for rep1 this month, typed into the grid.
    page.click("[data-testid=report-tabs] >> text=Targets")
    cell = page.locator(f"input[name^='cell-user-{world.rep1.pk}-']").nth(0)
    cell.fill("oops")
    page.click("[data-testid=targets-save]")
    expect(page.locator("[data-testid=form-errors]")).to_be_visible()
    assert not SalesTarget.objects.exists()
    page.goto("/reports/forecast/?period=month")
    month = page.locator("tr[data-testid^=forecast-]").first.get_attribute("data-testid").removeprefix("forecast-")
    page.goto("/reports/targets/")
    page.fill(f"[data-testid=cell-user-{world.rep1.pk}-{month}]", "80000")
    page.click("[data-testid=targets-save]")
    expect(page.locator(f"[data-testid=cell-user-{world.rep1.pk}-{month}]")).to_have_value("80000")
    assert SalesTarget.objects.get(user=world.rep1).amount == Decimal("80000")
    page.goto("/reports/forecast/?period=month")
    expect(page.locator(f"[data-testid=target-{month}]")).to_contain_text("80,000")
    expect(page.locator("canvas[data-chart=forecast]")).to_have_attribute("data-drawn", "1")

    with page.expect_download() as download:
        page.click("[data-testid=download-pdf]")
    assert download.value.suggested_filename.startswith("forecast-")
    assert page.evaluate("window.__csp") == []


def test_the_funnel_at_phone_width_in_chinese(e2e_new_page):
    world = seeded_world()
    world.manager.language = "zh-hans"
    world.manager.save(update_fields=["language"])
    page = e2e_new_page(viewport="phone", locale="zh-CN")
    page.add_init_script(WATCH)
    log_in(page, world.manager.email)
    page.goto("/reports/")
    expect(page.locator("h1")).to_have_text("报表")
    expect(page.locator("canvas[data-chart=funnel]")).to_have_attribute("data-drawn", "1")
    expect(page.locator("[data-testid=download-pdf]")).to_have_text("下载 PDF")
    assert page.evaluate("window.__csp") == []
    # The page does not scroll sideways; wide tables scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
