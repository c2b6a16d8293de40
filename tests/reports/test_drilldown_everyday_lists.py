"""The team performance and activity dashboards link their figures to the customer, lead and task lists with the
same period, team and person; those lists gain the period (local days) and the team with its sub-teams."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.workcalendar.selectors import local_today
from customers.models import Customer
from reports.selectors.activity import activity
from reports.selectors.drilldown import list_url
from reports.selectors.performance import performance
from sales.models import Lead, Task
from tests.sales.funnel import make_lead
from tests.sales.helpers import make_customer, make_task

from .test_dashboards import scope_for

pytestmark = pytest.mark.django_db


def listed(client, url: str, kind: str) -> set[int]:
    page = client.get(url.replace("&amp;", "&")).content.decode()
    return {int(pk) for pk in re.findall(rf'href="/{kind}/(\d+)/"', page)}


def link(page: str, testid: str) -> str:
    return re.search(rf'href="([^"]+)" data-testid="{testid}"', page).group(1).replace("&amp;", "&")


def done_task(user, title, *, late=False):
    now = timezone.now()
    task = make_task(user, title, due=now + dt.timedelta(hours=-2 if late else 2))
    Task.objects.filter(pk=task.pk).update(done_at=now - dt.timedelta(hours=1))
    return task


@pytest.fixture
def busy(world):
    """rep1 (team1) and rep2 (team2): done tasks (on time and late), an overdue and an open task, leads, customers,
    one of them not followed up for two months."""
    done_task(world.rep1, "准时完成")
    done_task(world.rep1, "迟了完成", late=True)
    done_task(world.rep2, "二组完成")
    make_task(world.rep1, "逾期", due=timezone.now() - dt.timedelta(days=2))
    make_task(world.rep1, "未到期")
    make_lead(world.rep1, "线索一")
    make_lead(world.rep1, "线索二")
    make_lead(world.rep2, "线索三")
    stale = make_customer(world.rep1, "久未跟进")
    make_customer(world.rep1, "新客户")
    make_customer(world.rep2, "二组客户")
    long_ago = timezone.now() - dt.timedelta(days=60)
    Customer.objects.filter(pk=stale.pk).update(last_followed_up_at=long_ago, owned_since=long_ago)
    return world


def test_team_performance_links_tasks_leads_and_customers_to_their_lists(busy, client_for):
    world = busy
    c = client_for(world.manager)
    page = c.get(reverse("reports:team"), {"period": "month", "team": world.team1.pk}).content.decode()
    rep1 = world.rep1.pk
    row = next(r for r in performance(scope_for(world.manager, "month", team=world.team1)).reps if r.user == world.rep1)

    tasks = link(page, f"list-tasks_done-{rep1}")
    assert f"team={world.team1.pk}" in tasks and f"assignee={rep1}" in tasks and "status=done" in tasks
    assert len(listed(c, tasks, "tasks")) == row.tasks_on_time + row.tasks_late == 2

    leads = link(page, f"list-leads-{rep1}")
    assert {lead.pk for lead in Lead.objects.filter(owner=world.rep1)} == listed(c, leads, "leads")

    customers = link(page, f"list-new_customers-{rep1}")
    assert listed(c, customers, "customers") == set(
        Customer.objects.filter(owner=world.rep1).values_list("pk", flat=True)
    )


def test_activity_links_overdue_tasks_and_stale_customers_to_their_lists(busy, client_for):
    world = busy
    c = client_for(world.manager)
    page = c.get(reverse("reports:activity"), {"period": "month"}).content.decode()
    report = activity(scope_for(world.manager, "month"))
    assert len(listed(c, link(page, "list-overdue_tasks"), "tasks")) == report.total().overdue_tasks == 1
    stale = listed(c, link(page, f"list-stale_customers-{world.rep1.pk}"), "customers")
    assert stale == {Customer.objects.get(name="久未跟进").pk}
    assert len(stale) == report.total().stale_customers


def test_a_manager_altering_the_team_in_the_link_sees_no_other_records(world, client_for):
    """The lists keep their own visibility: another tenant's team is no choice, and a rep's list never widens."""
    done_task(world.rep2, "二组完成")
    c = client_for(world.rep1)
    url = f"{reverse('sales:task_list')}?status=done&team={world.sales.pk}"
    assert listed(c, url, "tasks") == set()
    assert 'name="team"' not in c.get(reverse("sales:task_list")).content.decode()


def test_the_task_list_filters_by_due_and_done_days_and_the_assignee_team(busy, client_for):
    world = busy
    c = client_for(world.admin)
    today = local_today(world.tenant)
    base = reverse("sales:task_list")
    assert len(listed(c, f"{base}?status=all&team={world.team1.pk}", "tasks")) == 4
    assert len(listed(c, f"{base}?status=all&team={world.sales.pk}", "tasks")) == 5
    assert len(listed(c, f"{base}?status=done&done_from={today}&done_to={today}", "tasks")) == 3
    yesterday = today - dt.timedelta(days=1)
    assert listed(c, f"{base}?status=done&done_to={yesterday}", "tasks") == set()
    week_ago = today - dt.timedelta(days=7)
    due_past = listed(c, f"{base}?status=all&due_from={week_ago}&due_to={yesterday}", "tasks")
    assert due_past == set(Task.objects.filter(title="逾期").values_list("pk", flat=True))
    # A date out of range is a clear form error, never a 500.
    assert c.get(base, {"due_from": "99999-01-01"}).status_code == 200


def test_the_lead_list_filters_by_created_days_and_team(busy, client_for):
    world = busy
    c = client_for(world.manager)
    today = local_today(world.tenant)
    base = reverse("sales:lead_list")
    assert len(listed(c, f"{base}?status=all&team={world.team2.pk}", "leads")) == 1
    assert len(listed(c, f"{base}?status=all&team={world.sales.pk}&created_from={today}", "leads")) == 3
    assert listed(c, f"{base}?status=all&created_to={today - dt.timedelta(days=1)}", "leads") == set()
    assert 'name="team"' not in client_for(world.rep1).get(base).content.decode()


def test_list_url_carries_the_period_team_and_person(world):
    scope = scope_for(world.manager, "month", team=world.team1)
    url = list_url(scope, "tasks_done", world.rep1)
    start, end = scope.period.start.isoformat(), scope.period.end.isoformat()
    assert url == (
        f"{reverse('sales:task_list')}?status=done&done_from={start}&done_to={end}"
        f"&team={world.team1.pk}&assignee={world.rep1.pk}"
    )
    today = dt.date(2026, 3, 31)
    assert "quiet_since=2026-03-01" in list_url(scope, "stale_customers", today=today)


def test_the_filtered_lists_stay_bounded(busy, client_for, django_assert_max_num_queries):
    world = busy
    for i in range(20):
        make_task(world.rep1, f"批量{i}")
        make_lead(world.rep1, f"批量线索{i}")
    c = client_for(world.manager)
    today = local_today(world.tenant).isoformat()
    with django_assert_max_num_queries(30):
        tasks = c.get(reverse("sales:task_list"), {"status": "all", "team": world.team1.pk, "due_from": today})
    with django_assert_max_num_queries(30):
        leads = c.get(reverse("sales:lead_list"), {"status": "all", "team": world.team1.pk, "created_from": today})
    with django_assert_max_num_queries(30):
        customers = c.get(reverse("customers:list"), {"team": world.team1.pk, "created_from": today})
    assert tasks.status_code == leads.status_code == customers.status_code == 200
