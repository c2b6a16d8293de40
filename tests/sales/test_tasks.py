"""Tasks and reminders at /tasks/: scoping, the bad inputs that save nothing, done / reopen with htmx, the list's
filters and fixed number of queries, and the home widget."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.models import AuditEvent, Notification
from customers.services.transfer import customer_transfer
from sales.models import Task
from sales.services.reminder import reminders_send_due
from sales.services.task import task_create, task_set_done, task_update

from ..factories import UserFactory
from .helpers import in_english, later, local, make_customer, make_task, put_at_midday, queries_for


def task_form(**overrides):
    due = later(days=1)
    data = {"title": "回访客户", "due_at": local(due), "remind_at": local(due - timedelta(minutes=15)), "notes": ""}
    data.update(overrides)
    return data


# --- scoping -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_visible_to_per_role(world_a, world_b):
    t1 = make_task(world_a.rep1, "一组的任务")
    t2 = make_task(world_a.rep2, "二组的任务")
    tm = make_task(world_a.manager, "经理自己的任务")
    tb = make_task(world_b.rep1, "别家的任务")
    assert set(Task.objects.visible_to(world_a.rep1)) == {t1}
    assert set(Task.objects.visible_to(world_a.rep2)) == {t2}
    assert set(Task.objects.visible_to(world_a.manager)) == {t1, t2, tm}
    assert set(Task.objects.visible_to(world_a.admin)) == {t1, t2, tm}
    assert set(Task.objects.visible_to(world_a.agent)) == set()
    assert tb not in Task.objects.visible_to(world_a.admin)
    assert not Task.objects.visible_to(None).exists()


@pytest.mark.django_db
def test_visible_to_is_one_query(world_a, django_assert_num_queries):
    make_task(world_a.rep1)
    with django_assert_num_queries(1):
        list(Task.objects.visible_to(world_a.manager))


@pytest.mark.django_db
def test_task_pages_are_404_for_outsiders(world_a, world_b, client_for):
    task = make_task(world_a.rep1)
    for name in ("sales:task_detail", "sales:task_edit"):
        url = reverse(name, args=[task.pk])
        assert client_for(world_b.admin).get(url).status_code == 404
        assert client_for(world_a.rep2).get(url).status_code == 404
        assert client_for(world_a.rep1).get(url).status_code == 200
        assert client_for(world_a.manager).get(url).status_code == 200
    for name in ("sales:task_done", "sales:task_reopen"):
        assert client_for(world_b.rep1).post(reverse(name, args=[task.pk])).status_code == 404
        assert client_for(world_a.rep2).post(reverse(name, args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


# --- creation and bad input ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_task_with_reminder_for_a_customer(world_a, client_for):
    customer = make_customer(world_a.rep1, "提醒客户")
    c = client_for(world_a.rep1)
    page = c.get(reverse("sales:task_create"), {"customer": customer.pk})
    assert page.status_code == 200 and customer.name in page.content.decode()
    response = c.post(reverse("sales:task_create"), task_form(customer=customer.pk, assignee=world_a.rep1.pk))
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.customer == customer and task.assignee == world_a.rep1 and task.remind_at is not None
    assert response["Location"] == reverse("sales:task_detail", args=[task.pk])
    assert AuditEvent.objects.filter(action="task.create", object_id=str(task.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"remind_at": "past"}, "remind_at", "The reminder time is in the past; choose a later time."),
        ({"remind_at": "after_due"}, "remind_at", "The reminder must not be later than the due time."),
        ({"title": ""}, "title", "This field is required."),
        ({"due_at": "not a date"}, "due_at", "Enter a valid date/time."),
        ({"customer": "invisible"}, "customer", "Choose a customer you can see."),
        ({"customer": "other_tenant"}, "customer", "Choose a customer you can see."),
        ({"customer": "missing"}, "customer", "Choose a customer you can see."),
        ({"assignee": "colleague"}, "assignee", "Select a valid choice."),
    ],
)
def test_bad_task_input_is_refused_clearly_and_saves_nothing(world_a, world_b, client_for, overrides, field, message):
    in_english(world_a.rep1)
    due = later(days=1)
    values = {
        "past": local(later(hours=-1)),
        "after_due": local(due + timedelta(hours=1)),
        "invisible": make_customer(world_a.rep2, "看不见的客户").pk,
        "other_tenant": make_customer(world_b.rep1, "别家的客户").pk,
        "missing": 999_999,
        "colleague": world_a.rep2.pk,
    }
    data = task_form(due_at=local(due), remind_at=local(due - timedelta(minutes=5)), assignee=world_a.rep1.pk)
    data.update({k: values.get(v, v) for k, v in overrides.items()})
    response = client_for(world_a.rep1).post(reverse("sales:task_create"), data)
    assert response.status_code == 422
    form = response.context["form"]
    assert any(message in e for e in form.errors[field]), form.errors
    assert message in response.content.decode() or field == "assignee"
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_service_refuses_what_the_form_might_let_through(world_a, world_b):
    hidden = make_customer(world_a.rep2, "服务层客户")
    foreign = make_customer(world_b.rep1, "服务层别家")
    for customer in (hidden, foreign):
        with pytest.raises(DomainError) as exc:
            task_create(acting_user=world_a.rep1, title="x", due_at=later(days=1), customer=customer)
        assert exc.value.field == "customer"
    with pytest.raises(DomainError) as exc:
        task_create(acting_user=world_a.rep1, title="x", due_at=later(days=1), assignee=world_a.rep2)
    assert exc.value.field == "assignee"
    with pytest.raises(DomainError):
        task_create(acting_user=world_a.manager, title="x", due_at=later(days=1), assignee=world_b.rep1)
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_manager_gives_a_task_to_a_team_member_who_is_notified(world_a):
    task = task_create(acting_user=world_a.manager, title="拜访大客户", due_at=later(days=2), assignee=world_a.rep2)
    assert task.assignee == world_a.rep2
    note = Notification.objects.get(recipient=world_a.rep2)
    assert "拜访大客户" in note.title and note.url == reverse("sales:task_detail", args=[task.pk])
    # Admins may give tasks to anyone of the tenant, even outside the sales teams.
    task_create(acting_user=world_a.admin, title="客服回访", due_at=later(days=2), assignee=world_a.agent)


@pytest.mark.django_db
def test_changing_the_reminder_rearms_it_and_a_past_one_is_refused_only_when_changed(world_a):
    due = later(days=1)
    task = task_create(acting_user=world_a.rep1, title="改提醒", due_at=due, remind_at=later(hours=1))
    Task.objects.filter(pk=task.pk).update(reminder_sent_at=timezone.now(), remind_at=later(minutes=-5))
    task.refresh_from_db()
    common = {"acting_user": world_a.rep1, "task": task, "assignee": world_a.rep1, "customer": None}
    # Unchanged (already past) reminder: editing the title is fine and keeps it sent.
    task_update(**common, title="新标题", due_at=due, remind_at=task.remind_at)
    task.refresh_from_db()
    assert task.title == "新标题" and task.reminder_sent_at is not None
    with pytest.raises(DomainError):
        task_update(**common, title="新标题", due_at=due, remind_at=later(minutes=-30))
    task_update(**common, title="新标题", due_at=due, remind_at=later(hours=3))
    task.refresh_from_db()
    assert task.reminder_sent_at is None
    assert AuditEvent.objects.filter(action="task.update", object_id=str(task.pk)).count() == 2


@pytest.mark.django_db
def test_edit_view_keeps_a_customer_link_the_user_no_longer_sees(world_a, client_for):
    customer = make_customer(world_a.rep1, "转走的任务客户")
    task = task_create(acting_user=world_a.rep1, title="跟进", due_at=later(days=1), customer=customer)
    customer_transfer(acting_user=world_a.manager, customers=[customer], to_owner=world_a.rep2, reason="调整")
    c = client_for(world_a.rep1)
    detail = c.get(reverse("sales:task_detail", args=[task.pk])).content.decode()
    assert "转走的任务客户" not in detail
    response = c.post(
        reverse("sales:task_edit", args=[task.pk]),
        task_form(title="跟进（改）", customer=customer.pk, assignee=world_a.rep1.pk),
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "跟进（改）" and task.customer == customer


# --- done / reopen -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_done_and_reopen_with_htmx(world_a, client_for):
    task = make_task(world_a.rep1, "完成我")
    c = client_for(world_a.rep1)
    response = c.post(reverse("sales:task_done", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert "<html" not in body and f'id="task-{task.pk}"' in body and "task-done" in body
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == world_a.rep1
    # Twice is once.
    c.post(reverse("sales:task_done", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert AuditEvent.objects.filter(action="task.done").count() == 1
    response = c.post(reverse("sales:task_reopen", args=[task.pk]), HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert task.done_at is None and 'data-testid="task-done"' in response.content.decode()
    # Without JavaScript: a redirect back.
    response = c.post(reverse("sales:task_done", args=[task.pk]), {"next": "/tasks/?status=done"})
    assert response.status_code == 302 and response["Location"] == "/tasks/?status=done"
    response = c.post(reverse("sales:task_done", args=[task.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("sales:task_detail", args=[task.pk])


@pytest.mark.django_db
def test_done_tasks_get_no_reminder(world_a):
    task = make_task(world_a.rep1, due=later(hours=1), remind=later(minutes=-1))
    task_set_done(acting_user=world_a.rep1, task=task, done=True)
    assert reminders_send_due(tenant_id=world_a.tenant.pk) == 0


# --- the list ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_filters_overdue_today_upcoming_done(world_a, client_for):
    put_at_midday(world_a.tenant)
    now = timezone.now()
    overdue = make_task(world_a.rep1, "逾期的", due=now - timedelta(hours=1))
    today = make_task(world_a.rep1, "今天的", due=now + timedelta(hours=5))
    upcoming = make_task(world_a.rep1, "以后的", due=now + timedelta(days=3))
    done = make_task(world_a.rep1, "做完的", due=now - timedelta(days=1), done_at=now, done_by=world_a.rep1)
    make_task(world_a.rep2, "别人的", due=now - timedelta(hours=1))
    c = client_for(world_a.rep1)

    def titles(status):
        return [t.title for t in c.get(reverse("sales:task_list"), {"status": status}).context["tasks"]]

    assert titles("overdue") == [overdue.title]
    assert titles("today") == [today.title]
    assert titles("upcoming") == [upcoming.title]
    assert titles("done") == [done.title]
    assert titles("") == [overdue.title, today.title, upcoming.title]
    counts = c.get(reverse("sales:task_list")).context["counts"]
    assert counts == {"overdue": 1, "today": 1, "upcoming": 1}


@pytest.mark.django_db
def test_manager_filters_by_assignee_and_another_tenants_user_is_ignored(world_a, world_b, client_for):
    make_task(world_a.rep1, "一组的")
    make_task(world_a.rep2, "二组的")
    c = client_for(world_a.manager)
    url = reverse("sales:task_list")
    assert {t.title for t in c.get(url).context["tasks"]} == {"一组的", "二组的"}
    assert [t.title for t in c.get(url, {"assignee": world_a.rep2.pk}).context["tasks"]] == ["二组的"]
    # An id from another tenant is not a valid choice: the filter is ignored, nothing of B shows.
    response = c.get(url, {"assignee": world_b.rep1.pk})
    assert response.status_code == 200 and "assignee" in response.context["filter"].form.errors


@pytest.mark.django_db
def test_list_runs_a_fixed_number_of_queries_and_paginates(world_a, client_for, django_assert_max_num_queries):
    customer = make_customer(world_a.rep1, "批量客户")
    for i in range(3):
        make_task(world_a.rep1, f"任务{i}", customer=customer)
    c = client_for(world_a.manager)
    url = reverse("sales:task_list")
    few = queries_for(lambda: c.get(url))
    other = make_customer(world_a.rep2, "另一个客户")
    for i in range(70):
        make_task(world_a.rep1 if i % 2 else world_a.rep2, f"更多任务{i}", customer=customer if i % 2 else other)
    many = queries_for(lambda: c.get(url))
    assert few == many
    with django_assert_max_num_queries(10):
        response = c.get(url)
    assert len(response.context["tasks"]) == 50 and response.context["page"].paginator.num_pages == 2
    assert len(c.get(url, {"page": 2}).context["tasks"]) == 23
    partial = c.get(url, {"status": "all"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "HX-Request" in partial["Vary"]


# --- the home widget -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_widget_shows_my_overdue_and_todays_tasks(world_a, client_for, django_assert_max_num_queries):
    put_at_midday(world_a.tenant)
    now = timezone.now()
    make_task(world_a.rep1, "昨天就该做", due=now - timedelta(days=1))
    make_task(world_a.rep1, "今天要做", due=now + timedelta(hours=5))
    make_task(world_a.rep1, "下周再做", due=now + timedelta(days=7))
    make_task(world_a.rep2, "同事的任务", due=now - timedelta(days=1))
    c = client_for(world_a.rep1)
    body = c.get(reverse("home")).content.decode()
    assert 'data-testid="my-tasks-widget"' in body
    assert "昨天就该做" in body and "今天要做" in body
    assert "下周再做" not in body and "同事的任务" not in body
    few = queries_for(lambda: c.get(reverse("home")))
    for i in range(20):
        make_task(world_a.rep1, f"逾期{i}", due=now - timedelta(hours=i + 2))
    assert queries_for(lambda: c.get(reverse("home"))) == few


@pytest.mark.django_db
def test_widget_and_nav_for_every_tenant_user(world_a, client_for):
    agent = UserFactory(tenant=world_a.tenant, roles=["agent"])
    body = client_for(agent).get(reverse("home")).content.decode()
    assert 'data-testid="my-tasks-widget"' in body
    nav = client_for(world_a.rep1).get(reverse("home")).content.decode()
    assert reverse("sales:task_list") in nav and reverse("sales:calendar") in nav and reverse("sales:order_list") in nav


@pytest.mark.django_db
def test_task_list_filters_fold_on_a_phone_and_say_open_tasks_in_chinese(world_a, client_for):
    body = client_for(world_a.rep1).get(reverse("sales:task_list")).content.decode()
    # At phone width the filters hide behind a "Filter" button, as on the customer list.
    assert (
        'data-bs-target="#task-filters"' in body
        and 'id="task-filters" class="card card-body mb-3 py-2 collapse d-md-block"' in body
    )
    # The default view is the open tasks: 未完成, not 查看 (open a link).
    assert '<option value="open" selected>未完成</option>' in body
