"""Ticking a task done (htmx) swaps the page's counters out of band: the task list's and the home widget's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from .helpers import later, make_task

pytestmark = pytest.mark.django_db


def test_done_swaps_the_list_counters(world_a, client_for):
    overdue = make_task(world_a.rep1, "逾期", due=later(hours=-2), remind=later(hours=-3))
    make_task(world_a.rep1, "另一个逾期", due=later(hours=-1), remind=later(hours=-2))
    c = client_for(world_a.rep1)
    page = c.get(reverse("sales:task_list")).content.decode()
    assert 'name="counters" value="list"' in page and 'id="task-counts"' in page
    r = c.post(reverse("sales:task_done", args=[overdue.pk]), {"counters": "list"}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert 'id="task-counts" data-testid="task-counts" hx-swap-oob="true"' in body
    assert r.context["counts"]["overdue"] == 1
    assert 'name="counters" value="list"' in body  # the next tick swaps them again


def test_done_from_the_home_widget_swaps_its_badges(world_a, client_for):
    task = make_task(world_a.rep1, "今天的", due=later(minutes=30), remind=later(minutes=-30) + timedelta(minutes=1))
    c = client_for(world_a.rep1)
    assert 'name="counters" value="widget"' in c.get(reverse("home")).content.decode()
    r = c.post(reverse("sales:task_done", args=[task.pk]), {"counters": "widget"}, HTTP_HX_REQUEST="true")
    assert 'id="task-widget-counts" hx-swap-oob="true"' in r.content.decode()
    # Without a known counter nothing extra is sent; a bad value is ignored.
    r = c.post(reverse("sales:task_reopen", args=[task.pk]), {"counters": "<x>"}, HTTP_HX_REQUEST="true")
    assert "hx-swap-oob" not in r.content.decode()
