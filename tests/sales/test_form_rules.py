"""What a user types is never silently dropped, and every refusal is said at once: a next task's date on the
follow-up form means "create it"; the lead form shows all its errors on the first submit; a task due in 2099 is
questioned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from crm.errors import DomainError
from sales.models import FollowUp, Lead, Task
from sales.services.task import task_create, task_update

from .helpers import in_english, later, local, make_customer

pytestmark = pytest.mark.django_db


def followup_form(**overrides):
    data = {
        "kind": "call",
        "happened_at": local(later(minutes=-5)),
        "content": "客户对新报价有兴趣",
        "outcome": "positive",
        "next_step": "发正式报价",
    }
    data.update(overrides)
    return data


def test_a_next_task_date_without_the_tick_creates_the_task(world_a, client_for):
    customer = make_customer(world_a.rep1, "日期客户")
    due = later(days=2)
    response = client_for(world_a.rep1).post(
        reverse("sales:followup_create", args=[customer.pk]), followup_form(next_task_due_at=local(due))
    )
    assert response.status_code == 302
    assert FollowUp.objects.filter(customer=customer).count() == 1
    task = Task.objects.get(customer=customer)
    assert task.title == "发正式报价" and abs(task.due_at - due) < timedelta(minutes=1)


def test_a_next_task_title_without_a_date_is_refused_not_dropped(world_a, client_for):
    in_english(world_a.rep1)
    customer = make_customer(world_a.rep1, "标题客户")
    response = client_for(world_a.rep1).post(
        reverse("sales:followup_create", args=[customer.pk]), followup_form(next_task_title="回电")
    )
    assert response.status_code == 422
    assert "Enter when the task is due." in response.content.decode()
    assert not FollowUp.objects.filter(customer=customer).exists() and not Task.objects.exists()


def test_without_any_next_task_field_no_task_is_made(world_a, client_for):
    customer = make_customer(world_a.rep1, "无任务客户")
    response = client_for(world_a.rep1).post(reverse("sales:followup_create", args=[customer.pk]), followup_form())
    assert response.status_code == 302 and not Task.objects.exists()


def test_the_lead_form_shows_every_error_at_once(world_a, client_for):
    in_english(world_a.rep1)
    response = client_for(world_a.rep1).post(
        reverse("sales:lead_create"), {"name": "", "phone": "139-1234", "email": "zhang@"}
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) >= {"name", "phone", "email"}, errors
    assert "is not a valid phone number" in errors["phone"][0]
    assert not Lead.objects.exists()


def test_a_lead_with_no_way_to_reach_it_is_told_so(world_a, client_for):
    in_english(world_a.rep1)
    response = client_for(world_a.rep1).post(reverse("sales:lead_create"), {"name": "无联系方式"})
    assert response.status_code == 422
    assert "so the lead can be reached" in response.content.decode()


def test_a_task_due_in_2099_is_questioned(world_a, client_for):
    in_english(world_a.rep1)
    far = later(days=366 * 3)
    with pytest.raises(DomainError, match="is the year right") as refused:
        task_create(acting_user=world_a.rep1, title="远期", due_at=far)
    assert refused.value.field == "due_at"
    data = {"title": "回访", "due_at": "2099-05-01T10:00", "remind_at": "", "notes": ""}
    data["assignee"] = world_a.rep1.pk
    response = client_for(world_a.rep1).post(reverse("sales:task_create"), data)
    assert response.status_code == 422 and "is the year right" in response.content.decode()
    assert not Task.objects.exists()
    # Within the horizon it is a plan; an existing task's unchanged date is never questioned again.
    task = task_create(acting_user=world_a.rep1, title="年度回访", due_at=later(days=300))
    task_update(
        acting_user=world_a.rep1,
        task=task,
        title="年度回访（改）",
        due_at=task.due_at,
        remind_at=None,
        assignee=world_a.rep1,
        customer=None,
    )


def test_a_follow_ups_next_task_in_2099_is_refused_with_nothing_saved(world_a, client_for):
    in_english(world_a.rep1)
    customer = make_customer(world_a.rep1, "远期客户")
    response = client_for(world_a.rep1).post(
        reverse("sales:followup_create", args=[customer.pk]),
        followup_form(create_next_task="on", next_task_due_at="2099-01-01T09:00"),
    )
    assert response.status_code == 422 and "is the year right" in response.content.decode()
    assert not FollowUp.objects.filter(customer=customer).exists()
