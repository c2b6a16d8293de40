"""The demo tenant's dashboards show a year of history: won deals with their orders, lost ones with reasons, and
targets for every rep and sales team. seed_demo stays idempotent."""

import pytest
from django.core.management import call_command

from crm.models import Tenant, User
from crm.workcalendar.selectors import local_today
from reports.models import SalesTarget
from reports.selectors.forecast import forecast
from reports.selectors.funnel import funnel
from reports.selectors.performance import performance, rep_trend
from reports.selectors.scope import ReportScope, preset_bounds
from sales.models import Opportunity


def scope(user, preset):
    start, end = preset_bounds(preset, local_today(user.tenant))
    return ReportScope.of(user, preset=preset, start=start, end=end)


@pytest.mark.django_db
def test_the_demo_dashboards_have_a_year_of_history(capsys):
    call_command("seed_demo")
    counts = (Opportunity.objects.count(), SalesTarget.objects.count())
    call_command("seed_demo")
    assert (Opportunity.objects.count(), SalesTarget.objects.count()) == counts
    capsys.readouterr()

    demo = Tenant.objects.get(slug="demo")
    manager = User.objects.get(email="manager@demo.local")
    year = funnel(scope(manager, "last_12"))
    assert year.won > 20 and year.lost > 10 and year.lost_reasons
    assert all(row.reached for row in year.stages)
    months = forecast(scope(manager, "last_12")).months
    assert all(row.target for row in months)
    assert sum(1 for row in months if row.won) >= 11
    assert len([r for r in performance(scope(manager, "last_12")).reps if r.won]) >= 4
    rep1 = User.objects.get(email="rep1@demo.local")
    assert sum(1 for row in rep_trend(scope(manager, "month"), rep1) if row.won) >= 10
    assert Opportunity.objects.filter(tenant=demo, status="won", order__isnull=True).count() == 0
