"""The dashboards: the funnel from the stage history, the forecast against targets, team performance, activity; who
sees whose figures; every figure's drill-down; bounded queries with many rows."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from crm.workcalendar.selectors import local_today
from reports import pdf
from reports.models import SalesTarget
from reports.selectors.funnel import funnel
from reports.selectors.scope import ReportScope, month_start, preset_bounds
from sales.models import FollowUp
from sales.services.followup import followup_log
from tests.factories import UserFactory
from tests.sales.helpers import make_customer

from .builders import bulk_deals, deal, stages

pytestmark = pytest.mark.django_db


def scope_for(user, preset="quarter", **filters):
    start, end = preset_bounds(preset, local_today(user.tenant))
    return ReportScope.of(user, preset=preset, start=start, end=end, **filters)


@pytest.fixture
def funnel_world(world):
    """rep1: one deal left in the first stage, one moved to the second, one skipped to the third and lost, one won.
    rep2: one won."""
    _pipeline, open_stages, won, lost = stages(world.tenant)
    deal(world.rep1, "停在初步", amount="1000")
    deal(world.rep1, "需求分析中", amount="2000", path=[open_stages[1]])
    deal(world.rep1, "跳过后丢单", amount="3000", path=[open_stages[2], lost], lost_reason="价格太高")
    deal(world.rep1, "赢单一", amount="4000", path=[open_stages[1], won])
    deal(world.rep2, "赢单二", amount="5000", path=[won])
    return world


def test_funnel_counts_reach_from_the_stage_history(funnel_world):
    w = funnel_world
    _pipeline, open_stages, won, _lost = stages(w.tenant)
    result = funnel(scope_for(w.rep1))
    reached = {row.stage.pk: row.reached for row in result.stages}
    assert result.cohort == 4
    # Everyone entered the first stage; the skipper reached the second through the third; the won deal passed all.
    assert reached[open_stages[0].pk] == 4
    assert reached[open_stages[1].pk] == 3
    assert reached[open_stages[2].pk] == 2
    assert reached[open_stages[3].pk] == 1
    assert reached[won.pk] == 1
    assert (result.won, result.lost, result.open) == (1, 1, 2)
    assert result.win_rate == 50.0
    assert result.won_amount == Decimal("4000")
    assert result.lost_reasons == [("价格太高", 1)]
    second = next(row for row in result.stages if row.stage.pk == open_stages[1].pk)
    assert second.conversion == 75.0
    assert second.amount == Decimal("9000")


def test_a_manager_sees_the_team_a_rep_only_themself_an_admin_everyone(funnel_world):
    w = funnel_world
    assert funnel(scope_for(w.manager)).cohort == 5
    assert funnel(scope_for(w.admin)).cohort == 5
    assert funnel(scope_for(w.rep1)).cohort == 4
    assert funnel(scope_for(w.rep2)).cohort == 1
    assert funnel(scope_for(w.manager, team=w.team2)).cohort == 1
    assert funnel(scope_for(w.manager, rep=w.rep1)).cohort == 4


def test_funnel_page_shows_the_figures_with_links_to_their_records(funnel_world, client_for):
    w = funnel_world
    _pipeline, open_stages, _won, _lost = stages(w.tenant)
    response = client_for(w.manager).get(reverse("reports:funnel"), {"period": "quarter"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="kpi-cohort">5<' in page
    assert 'data-chart-source="funnel-data"' in page and 'id="funnel-data"' in page
    drill = client_for(w.manager).get(
        reverse("reports:records"), {"metric": "stage", "stage": open_stages[2].pk, "period": "quarter"}
    )
    assert drill.status_code == 200
    names = {o.name for o in drill.context["page"]}
    assert names == {"跳过后丢单", "赢单一", "赢单二"}


def test_a_rep_altering_the_link_never_sees_a_colleagues_figures(funnel_world, client_for):
    w = funnel_world
    c = client_for(w.rep1)
    assert c.get(reverse("reports:funnel"), {"rep": w.rep2.pk}).status_code == 404
    assert c.get(reverse("reports:records"), {"metric": "won_cohort", "rep": w.rep2.pk}).status_code == 404
    assert c.get(reverse("reports:records"), {"metric": "won_cohort", "team": w.team2.pk}).status_code == 404
    drill = c.get(reverse("reports:records"), {"metric": "won_cohort", "period": "quarter"})
    assert {o.name for o in drill.context["page"]} == {"赢单一"}
    assert c.get(reverse("reports:rep", args=[w.rep2.pk])).status_code == 404
    assert c.get(reverse("reports:rep", args=[w.rep1.pk])).status_code == 200


def test_a_manager_never_sees_another_teams_figures(funnel_world, client_for):
    w = funnel_world
    other_root = type(w.sales).objects.create(tenant=w.tenant, name="A 其他部门", parent=None)
    outsider = UserFactory(tenant=w.tenant, team=other_root, roles=["rep"], email="out@a.test")
    deal(outsider, "别的部门赢单", path=[stages(w.tenant)[2]])
    c = client_for(w.manager)
    assert c.get(reverse("reports:records"), {"metric": "won_cohort", "rep": outsider.pk}).status_code == 404
    assert c.get(reverse("reports:records"), {"metric": "won_cohort", "team": other_root.pk}).status_code == 404
    assert c.get(reverse("reports:rep", args=[outsider.pk])).status_code == 404
    drill = c.get(reverse("reports:records"), {"metric": "won_cohort", "period": "quarter"})
    assert "别的部门赢单" not in {o.name for o in drill.context["page"]}
    assert funnel(scope_for(w.admin)).cohort == 6


def test_another_tenants_ids_answer_404(funnel_world, world_b, client_for):
    w = funnel_world
    c = client_for(w.manager)
    pipeline_b, open_b, _won, _lost = stages(world_b.tenant)
    for params in (
        {"rep": world_b.rep1.pk},
        {"team": world_b.team1.pk},
        {"pipeline": pipeline_b.pk},
    ):
        for name in ("reports:funnel", "reports:forecast", "reports:team", "reports:activity"):
            assert c.get(reverse(name), params).status_code == 404, (name, params)
    assert c.get(reverse("reports:records"), {"metric": "stage", "stage": open_b[0].pk}).status_code == 404
    assert c.get(reverse("reports:rep", args=[world_b.rep1.pk])).status_code == 404
    assert c.get(reverse("reports:pdf"), {"dashboard": "funnel", "rep": world_b.rep1.pk}).status_code == 404


def test_bad_dates_get_a_clear_error(world, client_for):
    response = client_for(world.manager).get(
        reverse("reports:funnel"), {"period": "custom", "start": "2026-05-01", "end": "2026-04-01"}
    )
    assert response.status_code == 422
    assert "The period starts after it ends." in response.content.decode()
    assert client_for(world.manager).get(reverse("reports:funnel"), {"start": "9999-12-31"}).status_code == 422


def test_agents_have_no_reports(world, client_for):
    assert client_for(world.agent).get(reverse("reports:funnel")).status_code == 403


def test_forecast_weights_open_deals_and_measures_the_target(world, client_for):
    _pipeline, open_stages, won, _lost = stages(world.tenant)
    deal(world.rep1, "谈判中", amount="10000", path=[open_stages[3]], close_in_days=0)  # 75 %: commit
    deal(world.rep1, "刚开始", amount="20000", close_in_days=0)  # 10 %
    deal(world.rep1, "本月赢单", amount="30000", path=[won])
    deal(world.rep2, "二组的", amount="40000", close_in_days=0)
    month = month_start(scope_for(world.rep1, "month").period.start)
    SalesTarget.objects.create(tenant=world.tenant, user=world.rep1, month=month, amount=Decimal("100000"))
    response = client_for(world.manager).get(reverse("reports:forecast"), {"period": "month", "rep": world.rep1.pk})
    assert response.status_code == 200
    row = response.context["report"].months[0]
    # Open deals expected this month (the opportunity list's dates are the server's; allow the month edge).
    assert row.won == Decimal("30000")
    assert row.target == Decimal("100000")
    assert row.attainment == 30.0
    assert row.gap == Decimal("70000")
    if row.open_count == 2:
        assert row.weighted == Decimal("9500.00")
        assert row.commit == Decimal("10000")
    team = client_for(world.manager).get(reverse("reports:forecast"), {"period": "month"}).context["report"]
    assert team.months[0].target == Decimal("100000")


def test_team_performance_ranks_by_won_amount(world, client_for):
    _pipeline, _open, won, _lost = stages(world.tenant)
    deal(world.rep1, "小单", amount="1000", path=[won])
    deal(world.rep2, "大单", amount="9000", path=[won])
    customer = make_customer(world.rep1, "跟进客户有限公司")
    followup_log(acting_user=world.rep1, customer=customer, kind="call", content="电话沟通")
    response = client_for(world.manager).get(reverse("reports:team"), {"period": "month"})
    reps = response.context["report"].reps
    assert [r.user for r in reps[:2]] == [world.rep2, world.rep1]
    rep1 = next(r for r in reps if r.user == world.rep1)
    assert rep1.followups == FollowUp.objects.filter(author=world.rep1).count() >= 1
    assert rep1.new_customers >= 1
    own = client_for(world.rep1).get(reverse("reports:team"), {"period": "month"}).context["report"].reps
    assert [r.user for r in own] == [world.rep1]


def test_each_leaderboard_figure_links_to_its_records_and_names_are_escaped(world, client_for):
    _pipeline, _open, won, _lost = stages(world.tenant)
    deal(world.rep1, "小单", amount="1234", path=[won])
    world.rep1.full_name = "<b>销售一</b>"
    world.rep1.save(update_fields=["full_name"])
    page = client_for(world.manager).get(reverse("reports:team"), {"period": "month"}).content.decode()
    rep, records = world.rep1.pk, reverse("reports:records")
    assert (
        f'<a href="{records}?metric=won_amount&amp;period=month&amp;rep={rep}" data-testid="won-amount-{rep}">' in page
    )
    assert f'<a href="{records}?metric=won&amp;period=month&amp;rep={rep}" data-testid="won-{rep}">1</a>' in page
    assert f'<a href="{reverse("reports:rep", args=[rep])}">&lt;b&gt;销售一&lt;/b&gt;</a>' in page
    assert "<b>销售一</b>" not in page
    for figure in ("new_customers", "tasks_done", "leads"):
        assert f'data-testid="list-{figure}-{rep}"' in page
    assert f'owner={rep}" data-testid="list-leads-{rep}"' in page


def test_activity_counts_follow_ups_and_overdue_tasks(world, client_for):
    customer = make_customer(world.rep1, "活动客户有限公司")
    followup_log(acting_user=world.rep1, customer=customer, kind="visit", content="上门拜访")
    response = client_for(world.manager).get(reverse("reports:activity"))
    assert response.status_code == 200
    row = next(p for p in response.context["report"].people if p.user == world.rep1)
    assert row.by_kind.get("visit") == 1


@pytest.mark.parametrize("name", ["reports:funnel", "reports:forecast", "reports:team", "reports:activity"])
def test_dashboards_run_a_bounded_number_of_queries(world, client_for, django_assert_max_num_queries, name):
    customer = make_customer(world.rep1, "批量客户有限公司")
    bulk_deals(world.rep1, customer, 300)
    bulk_deals(world.rep2, make_customer(world.rep2, "批量客户二有限公司"), 300)
    c = client_for(world.manager)
    with django_assert_max_num_queries(24):
        response = c.get(reverse(name), {"period": "quarter"})
    assert response.status_code == 200


def test_pdf_of_every_dashboard_has_chinese_text(funnel_world, client_for, monkeypatch):
    monkeypatch.setattr(pdf, "PDF_OPTIONS", {"uncompressed_pdf": True})
    c = client_for(funnel_world.manager)
    for dashboard in ("funnel", "forecast", "team", "activity"):
        response = c.get(reverse("reports:pdf"), {"dashboard": dashboard, "period": "quarter"})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        body = response.content
        assert body.startswith(b"%PDF")
        # The tenant's name and the Chinese stage names are set in Noto Sans CJK SC.
        assert b"Noto-Sans-CJK-SC" in body
        assert response["Content-Disposition"].startswith(f'attachment; filename="{dashboard}-')


def test_managers_and_admins_find_reports_in_the_navigation_and_a_home_widget(world, client_for):
    _pipeline, _open, won, _lost = stages(world.tenant)
    deal(world.rep1, "本月赢单", amount="30000", path=[won])
    month = month_start(scope_for(world.rep1, "month").period.start)
    SalesTarget.objects.create(tenant=world.tenant, user=world.rep1, month=month, amount=Decimal("60000"))
    home = client_for(world.manager).get(reverse("home")).content.decode()
    assert f'href="{reverse("reports:funnel")}"' in home
    assert 'data-testid="widget-month-target"' in home
    assert "50.0% attained" in home
    rep_home = client_for(world.rep1).get(reverse("home")).content.decode()
    assert 'data-testid="widget-month-target"' not in rep_home
    assert f'href="{reverse("reports:funnel")}"' not in rep_home


def test_every_dashboard_exports_its_tables_as_csv_and_xlsx_safe_for_spreadsheets(world, client_for):
    _pipeline, open_stages, _won, lost = stages(world.tenant)
    deal(world.rep1, "公式单", path=[open_stages[1], lost], lost_reason='=HYPERLINK("http://x")')
    c = client_for(world.manager)
    for dashboard in ("funnel", "forecast", "team", "activity"):
        response = c.get(reverse("reports:export"), {"dashboard": dashboard, "format": "csv", "period": "quarter"})
        assert response.status_code == 200
        text = response.content.decode("utf-8")
        assert text.startswith("\ufeff")
        xlsx = c.get(reverse("reports:export"), {"dashboard": dashboard, "format": "xlsx", "period": "quarter"})
        assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    funnel_csv = c.get(reverse("reports:export"), {"dashboard": "funnel", "format": "csv", "period": "quarter"})
    assert "'=HYPERLINK" in funnel_csv.content.decode("utf-8")
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            c.get(reverse("reports:export"), {"dashboard": "funnel", "format": "xlsx", "period": "quarter"}).content
        )
    )
    reasons = workbook.worksheets[1]
    assert reasons.cell(row=2, column=1).value.startswith("'=")
    assert c.get(reverse("reports:export"), {"dashboard": "funnel", "rep": 999999}).status_code == 404
    assert (
        client_for(world.rep1)
        .get(reverse("reports:export"), {"dashboard": "team", "format": "csv", "rep": world.rep2.pk})
        .status_code
        == 404
    )
