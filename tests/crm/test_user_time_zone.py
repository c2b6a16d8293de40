"""Each user may read times in their own time zone (default: the company's): the preferences page, times on pages,
and "today" of a rep's own task counts; jobs that run per company keep the company's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse

from crm.models import User
from crm.workcalendar.selectors import local_today, user_today
from sales.selectors.task import task_counts
from sales.services.task import task_create

UTC = dt.UTC


def _english(*users):
    for user in users:
        user.language = "en"
        user.save(update_fields=["language"])


@pytest.mark.django_db
def test_a_user_chooses_a_time_zone_and_a_bad_one_is_refused(world_a, client_for, django_assert_max_num_queries):
    _english(world_a.rep1)
    c = client_for(world_a.rep1)
    url = reverse("preferences")
    with django_assert_max_num_queries(12):
        page = c.get(url)
    assert page.status_code == 200 and "The company&#x27;s" in page.content.decode()
    refused = c.post(url, {"language": "en", "time_zone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert User.objects.get(pk=world_a.rep1.pk).time_zone == ""
    saved = c.post(url, {"language": "en", "time_zone": "America/New_York"})
    assert saved.status_code == 302
    rep = User.objects.get(pk=world_a.rep1.pk)
    assert rep.time_zone == "America/New_York" and rep.tzinfo == zoneinfo.ZoneInfo("America/New_York")
    # Back to the company's zone.
    c.post(url, {"language": "", "time_zone": ""})
    rep.refresh_from_db()
    assert rep.time_zone == "" and rep.tzinfo == world_a.tenant.tzinfo and rep.language == ""


@pytest.mark.django_db
def test_the_same_task_reads_in_each_users_zone(world_a, client_for):
    _english(world_a.rep1, world_a.admin)
    due = dt.datetime(2026, 1, 10, 2, 30, tzinfo=UTC)
    task = task_create(acting_user=world_a.rep1, title="回访王总", due_at=due)
    User.objects.filter(pk=world_a.admin.pk).update(time_zone="America/New_York")
    url = reverse("sales:task_detail", args=[task.pk])
    in_shanghai = client_for(world_a.rep1).get(url).content.decode()
    in_new_york = client_for(world_a.admin).get(url).content.decode()
    assert "01/10/2026 10:30 a.m." in in_shanghai
    assert "01/09/2026 9:30 p.m." in in_new_york


@pytest.mark.django_db
def test_today_is_the_users_day_and_the_companys_jobs_keep_its_zone(world_a):
    now = dt.datetime(2026, 1, 10, 20, 0, tzinfo=UTC)  # 11 January 04:00 in Shanghai, 10 January 15:00 in New York
    User.objects.filter(pk=world_a.rep2.pk).update(time_zone="America/New_York")
    rep1, rep2 = User.objects.get(pk=world_a.rep1.pk), User.objects.get(pk=world_a.rep2.pk)
    assert user_today(rep1, now) == dt.date(2026, 1, 11)
    assert user_today(rep2, now) == dt.date(2026, 1, 10)
    assert local_today(world_a.tenant, now) == dt.date(2026, 1, 11)
    # Due at 13:00 UTC on the 11th: later today in Shanghai (21:00), tomorrow in New York (08:00 on the 11th).
    for user in (rep1, rep2):
        task_create(acting_user=user, title="明天的", due_at=dt.datetime(2026, 1, 11, 13, 0, tzinfo=UTC))
    assert task_counts(rep1, world_a.tenant, now)["today"] == 1
    assert task_counts(rep2, world_a.tenant, now)["today"] == 0
    assert task_counts(rep2, world_a.tenant, now)["upcoming"] == 1
