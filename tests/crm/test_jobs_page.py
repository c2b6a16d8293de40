"""Settings → Background jobs: every run of a tenant's job is recorded, and its admins see only their own."""

import pytest
from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.jobs.models import TaskRun
from crm.jobs.services import task_run_finished, task_run_started
from crm.tenancy import TenantTask

from ..conftest import build_world


@shared_task(base=TenantTask, name="tests.count_to", label=_("Counting for the test"))
def count_to(tenant_id: int, n: int) -> int:
    if n < 0:
        raise ValueError("n must not be negative")
    return n


@pytest.mark.django_db
def test_each_run_is_recorded_for_its_tenant_with_its_outcome():
    world = build_world("J")
    assert count_to(world.tenant.pk, 3) == 3
    run = TaskRun.objects.get(tenant=world.tenant, task="tests.count_to")
    assert (run.status, run.result, run.runs, run.failures) == ("succeeded", "3", 1, 0)
    assert run.finished_at >= run.started_at and run.duration_ms is not None

    with pytest.raises(ValueError, match="negative"):
        count_to(world.tenant.pk, -1)
    run.refresh_from_db()
    assert (run.status, run.runs, run.failures) == ("failed", 2, 1)
    assert run.last_error == "ValueError: n must not be negative" and run.last_failed_at is not None

    # A later success clears the state but keeps the failure on record.
    count_to(world.tenant.pk, 5)
    run.refresh_from_db()
    assert (run.status, run.result, run.runs, run.failures) == ("succeeded", "5", 3, 1)
    assert run.last_error == "ValueError: n must not be negative"


@pytest.mark.django_db
def test_an_older_run_ending_late_does_not_hide_a_newer_one_still_running():
    world = build_world("K")
    first = world.tenant.created_at
    from datetime import timedelta

    task_run_started(tenant_id=world.tenant.pk, task="x", at=first)
    task_run_started(tenant_id=world.tenant.pk, task="x", at=first + timedelta(seconds=5))  # a second run starts
    task_run_finished(tenant_id=world.tenant.pk, task="x", started_at=first, result=1)  # the first one ends
    run = TaskRun.objects.get(task="x")
    assert run.status == "running" and run.runs == 1


@pytest.mark.django_db
def test_admins_see_their_own_companys_jobs_only(client_for, django_assert_max_num_queries):
    world_a, world_b = build_world("A"), build_world("B")
    count_to(world_a.tenant.pk, 7)
    with pytest.raises(ValueError, match="negative"):
        count_to(world_b.tenant.pk, -1)

    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    client = client_for(world_a.admin)
    with django_assert_max_num_queries(12):
        response = client.get("/settings/jobs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Counting for the test" in page and "Succeeded" in page
    assert "must not be negative" not in page  # tenant B's failure
    assert "Task reminders" in page  # a job that never ran for A is listed too

    assert client_for(world_a.rep1).get("/settings/jobs/").status_code == 403


@pytest.mark.django_db
def test_the_page_in_chinese(client_for):
    world = build_world("C")
    count_to(world.tenant.pk, 1)
    world.admin.language = "zh-hans"
    world.admin.save(update_fields=["language"])
    page = client_for(world.admin).get("/settings/jobs/").content.decode()
    assert "后台任务" in page and "成功" in page and "任务提醒" in page
