"""Follow-ups (跟进记录): logging one moves the customer's last follow-up, the next task comes in the same step or not
at all, the author may correct it for 24 hours, nothing is ever deleted, and outsiders get 404."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import Contact, Customer
from customers.services.share import customer_share
from customers.services.transfer import customer_transfer
from sales.models import FollowUp, Task
from sales.services.followup import NextTask, followup_log, followup_update

from .helpers import in_english, later, local, make_customer, queries_for


def log(user, customer, **kw):
    kw.setdefault("kind", FollowUp.Kind.CALL)
    kw.setdefault("content", "电话沟通了采购计划")
    return followup_log(acting_user=user, customer=customer, **kw)


def form_data(**overrides):
    data = {
        "kind": "call",
        "happened_at": local(timezone.now()),
        "content": "客户对新报价有兴趣",
        "outcome": "positive",
        "next_step": "发正式报价",
    }
    data.update(overrides)
    return data


# --- service -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logging_moves_last_followed_up_and_is_audited(world_a):
    customer = make_customer(world_a.rep1, "跟进客户")
    assert customer.last_followed_up_at is None
    when = timezone.now() - timedelta(hours=2)
    follow_up = log(world_a.rep1, customer, happened_at=when, outcome="positive", next_step="发报价")
    customer.refresh_from_db()
    assert customer.last_followed_up_at == when
    assert follow_up.author == world_a.rep1 and follow_up.tenant == world_a.tenant
    assert AuditEvent.objects.filter(action="followup.create", object_id=str(follow_up.pk)).exists()
    # An older follow-up logged afterwards never moves the date back.
    log(world_a.rep1, customer, happened_at=when - timedelta(days=3))
    customer.refresh_from_db()
    assert customer.last_followed_up_at == when


@pytest.mark.django_db
def test_next_task_is_created_in_the_same_step(world_a):
    customer = make_customer(world_a.rep1, "计划客户")
    due = later(days=1)
    follow_up = log(
        world_a.rep1,
        customer,
        next_step="明天回电",
        next_task=NextTask(title="", due_at=due, remind_at=due - timedelta(minutes=15)),
    )
    task = Task.objects.get()
    assert task.title == "明天回电" and task.customer == customer and task.follow_up == follow_up
    assert task.assignee == world_a.rep1 and task.remind_at == due - timedelta(minutes=15)


@pytest.mark.django_db
def test_a_bad_next_task_saves_nothing_at_all(world_a):
    customer = make_customer(world_a.rep1, "原子客户")
    with pytest.raises(DomainError) as exc:
        log(
            world_a.rep1,
            customer,
            next_task=NextTask(title="回电", due_at=later(days=1), remind_at=later(hours=-2)),
        )
    assert exc.value.field == "next_task_remind_at"
    customer.refresh_from_db()
    assert customer.last_followed_up_at is None
    assert not FollowUp.objects.exists() and not Task.objects.exists()
    assert not AuditEvent.objects.filter(action="followup.create").exists()


@pytest.mark.django_db
def test_future_follow_up_foreign_contact_and_empty_text_are_refused(world_a):
    customer = make_customer(world_a.rep1, "校验客户")
    other = make_customer(world_a.rep1, "别的客户")
    with pytest.raises(DomainError) as exc:
        log(world_a.rep1, customer, happened_at=later(hours=2))
    assert exc.value.field == "happened_at"
    with pytest.raises(DomainError) as exc:
        log(world_a.rep1, customer, contact=Contact.objects.get(customer=other))
    assert exc.value.field == "contact"
    with pytest.raises(DomainError) as exc:
        log(world_a.rep1, customer, content="   ")
    assert exc.value.field == "content"
    assert not FollowUp.objects.exists()


@pytest.mark.django_db
def test_only_those_who_may_change_the_customer_log(world_a, world_b):
    customer = make_customer(world_a.rep1, "权限客户")
    with pytest.raises(DomainError):
        log(world_a.rep2, customer)  # cannot see it
    with pytest.raises(DomainError):
        log(world_b.admin, customer)  # another company's
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    with pytest.raises(PermissionDenied):
        log(world_a.rep2, customer)  # may see, not change
    log(world_a.manager, customer)  # the owner's manager may
    assert FollowUp.objects.count() == 1


@pytest.mark.django_db
def test_author_corrects_within_24_hours_audited_then_it_is_on_the_record(world_a):
    customer = make_customer(world_a.rep1, "修改客户")
    follow_up = log(world_a.rep1, customer, content="初稿")
    followup_update(
        acting_user=world_a.rep1,
        follow_up=follow_up,
        kind="visit",
        content="上门拜访，见了采购经理",
        outcome="positive",
        happened_at=follow_up.happened_at,
    )
    follow_up.refresh_from_db()
    assert follow_up.kind == "visit" and follow_up.edited_at is not None
    event = AuditEvent.objects.get(action="followup.update")
    assert event.details["content"] == ["初稿", "上门拜访，见了采购经理"]
    with pytest.raises(PermissionDenied):
        followup_update(
            acting_user=world_a.manager,
            follow_up=follow_up,
            kind="call",
            content="x",
            outcome="neutral",
            happened_at=follow_up.happened_at,
        )
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=timezone.now() - timedelta(hours=25))
    follow_up.refresh_from_db()
    with pytest.raises(DomainError):
        followup_update(
            acting_user=world_a.rep1,
            follow_up=follow_up,
            kind="call",
            content="改口",
            outcome="neutral",
            happened_at=follow_up.happened_at,
        )
    follow_up.refresh_from_db()
    assert follow_up.content == "上门拜访，见了采购经理"


def test_there_is_no_way_to_delete_a_follow_up():
    for name in ("sales:followup_delete", "sales:followup_remove"):
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[1])


# --- the customer page panel (htmx) --------------------------------------------------------------------------


@pytest.mark.django_db
def test_panel_on_the_customer_page(world_a, client_for):
    customer = make_customer(world_a.rep1, "面板客户")
    log(world_a.rep1, customer, content="第一次电话")
    response = client_for(world_a.rep1).get(reverse("customers:detail", args=[customer.pk]))
    body = response.content.decode()
    assert 'data-panel="followups"' in body and "第一次电话" in body
    assert 'data-testid="followup-form"' in body
    assert 'data-panel="upcoming"' in body and 'data-panel="orders"' in body


@pytest.mark.django_db
def test_htmx_log_swaps_panel_and_updates_last_follow_up(world_a, client_for):
    customer = make_customer(world_a.rep1, "内联客户")
    c = client_for(world_a.rep1)
    due = later(days=1)
    response = c.post(
        reverse("sales:followup_create", args=[customer.pk]),
        form_data(
            content="内联记录的跟进",
            create_next_task="on",
            next_task_due_at=local(due),
            next_task_remind_at=local(due - timedelta(minutes=30)),
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert "<html" not in body and 'id="followup-panel"' in body and "内联记录的跟进" in body
    # The profile's "last follow-up" and the upcoming tasks are swapped out of band.
    assert 'id="profile-body" hx-swap-oob="true"' in body and 'data-testid="last-followed-up"' in body
    assert 'id="upcoming-panel" hx-swap-oob="true"' in body and "发正式报价" in body
    customer.refresh_from_db()
    assert customer.last_followed_up_at is not None
    assert Task.objects.get().title == "发正式报价"


@pytest.mark.django_db
def test_htmx_invalid_form_answers_422_with_errors_and_saves_nothing(world_a, client_for):
    customer = make_customer(world_a.rep1, "错误客户")
    in_english(world_a.rep1)
    c = client_for(world_a.rep1)
    response = c.post(
        reverse("sales:followup_create", args=[customer.pk]),
        form_data(content="", create_next_task="on"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "This field is required." in body and "Enter when the task is due." in body
    assert not FollowUp.objects.exists()
    # A reminder in the past for the next task: the service refuses, the form shows it, nothing is saved.
    response = c.post(
        reverse("sales:followup_create", args=[customer.pk]),
        form_data(
            create_next_task="on", next_task_due_at=local(later(days=1)), next_task_remind_at=local(later(days=-1))
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "The reminder time is in the past" in response.content.decode()
    assert not FollowUp.objects.exists() and not Task.objects.exists()
    customer.refresh_from_db()
    assert customer.last_followed_up_at is None


@pytest.mark.django_db
def test_errors_are_translated(world_a, client_for):
    world_a.rep1.language = "zh-hans"
    world_a.rep1.save()
    customer = make_customer(world_a.rep1, "中文客户")
    response = client_for(world_a.rep1).post(
        reverse("sales:followup_create", args=[customer.pk]), form_data(content=""), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "这个字段是必填项。" in response.content.decode()


@pytest.mark.django_db
def test_without_javascript_the_form_posts_and_redirects(world_a, client_for):
    customer = make_customer(world_a.rep1, "无脚本客户")
    c = client_for(world_a.rep1)
    response = c.post(reverse("sales:followup_create", args=[customer.pk]), form_data())
    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[customer.pk])
    response = c.post(reverse("sales:followup_create", args=[customer.pk]), form_data(kind="fax"))
    assert response.status_code == 422 and "<html" in response.content.decode()
    assert FollowUp.objects.count() == 1


@pytest.mark.django_db
def test_outsiders_get_404_and_view_only_users_403(world_a, world_b, client_for):
    customer = make_customer(world_a.rep1, "外人客户")
    url = reverse("sales:followup_create", args=[customer.pk])
    assert client_for(world_b.admin).post(url, form_data()).status_code == 404
    assert client_for(world_a.rep2).post(url, form_data()).status_code == 404
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert client_for(world_a.rep2).post(url, form_data()).status_code == 403
    assert not FollowUp.objects.exists()


@pytest.mark.django_db
def test_edit_view_author_only_within_window(world_a, world_b, client_for):
    customer = make_customer(world_a.rep1, "编辑客户")
    follow_up = log(world_a.rep1, customer)
    url = reverse("sales:followup_edit", args=[follow_up.pk])
    assert client_for(world_b.rep1).get(url).status_code == 404
    assert client_for(world_a.manager).get(url).status_code == 403
    c = client_for(world_a.rep1)
    assert c.get(url).status_code == 200
    response = c.post(url, form_data(content="改过的内容", kind="wechat"))
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.content == "改过的内容" and follow_up.kind == "wechat"
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert c.get(url).status_code == 403


# --- the follow-up log (list) --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_follow_up_list_is_scoped_paginated_and_runs_fixed_queries(world_a, client_for, django_assert_max_num_queries):
    mine = make_customer(world_a.rep1, "我的客户")
    theirs = make_customer(world_a.rep2, "别人的客户")
    for i in range(3):
        log(world_a.rep1, mine, content=f"我的跟进{i}")
    log(world_a.rep2, theirs, content="别人的跟进")
    c = client_for(world_a.rep1)
    url = reverse("sales:followup_list")
    body = c.get(url).content.decode()
    assert "我的跟进0" in body and "别人的跟进" not in body
    manager_body = client_for(world_a.manager).get(url).content.decode()
    assert "我的跟进0" in manager_body and "别人的跟进" in manager_body

    few = queries_for(lambda: c.get(url))
    for i in range(60):
        log(world_a.rep1, mine, content=f"更多跟进{i}")
    many = queries_for(lambda: c.get(url))
    assert few == many
    with django_assert_max_num_queries(10):
        response = c.get(url)
    assert len(response.context["follow_ups"]) == 50 and response.context["page"].paginator.num_pages == 2
    assert c.get(url, {"page": 2}).context["page"].number == 2
    # htmx filter requests get the results partial.
    partial = c.get(url, {"q": "更多跟进1"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "HX-Request" in partial["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_a_managers_list_reads_its_count_and_page_in_one_query(
    world_a, client_for, django_assert_max_num_queries, rows
):
    """A manager's (set-based visibility) count and page come from one read of the first ids; the rest of the
    page's queries do not grow with its rows, and a customer shared with a rep brings its follow-ups along."""
    mine = make_customer(world_a.rep1, "团队客户")
    for i in range(rows):
        log(world_a.rep1, mine, content=f"团队跟进{i}")
    c = client_for(world_a.manager)
    url = reverse("sales:followup_list")
    with django_assert_max_num_queries(9):
        response = c.get(url)
    assert len(response.context["follow_ups"]) == min(rows, 50)
    assert response.context["page"].paginator.count == rows
    shared = make_customer(world_a.rep1, "共享客户")
    log(world_a.rep1, shared, content="共享客户的跟进")
    customer_share(acting_user=world_a.rep1, customer=shared, with_user=world_a.rep2)
    assert "共享客户的跟进" in client_for(world_a.rep2).get(url).content.decode()


@pytest.mark.django_db
def test_a_customer_leaving_the_rep_takes_its_follow_ups_along(world_a, client_for):
    customer = make_customer(world_a.rep1, "转走的客户")
    log(world_a.rep1, customer, content="转交前的跟进")
    customer_transfer(acting_user=world_a.manager, customers=[customer], to_owner=world_a.rep2, reason="调岗")
    assert not FollowUp.objects.visible_to(world_a.rep1).exists()
    assert FollowUp.objects.visible_to(world_a.rep2).count() == 1
    assert Customer.objects.get(pk=customer.pk).owner == world_a.rep2


@pytest.mark.django_db
def test_a_follow_up_is_seen_through_its_customer_its_lead_or_its_opportunity(world_a, client_for):
    """Every role's visibility, the admin's (EXISTS per subject) and the others' (arrays of visible ids) alike: a
    follow-up on a customer that went to the pool stays visible through its opportunity, and only through it."""
    from .funnel import make_lead, make_opportunity

    on_customer = log(world_a.rep1, make_customer(world_a.rep1, "跟进客户甲"), content="客户上的跟进")
    lead = make_lead(world_a.rep1, "线索甲")
    on_lead = followup_log(acting_user=world_a.rep1, lead=lead, kind="call", content="线索上的跟进")
    deal_customer = make_customer(world_a.rep1, "商机客户乙")
    opportunity = make_opportunity(world_a.rep1, deal_customer, name="商机乙")
    on_opportunity = followup_log(
        acting_user=world_a.rep1, opportunity=opportunity, kind="call", content="商机上的跟进"
    )
    pooled = make_customer(world_a.rep1, "公海客户丙")
    in_pool = log(world_a.rep1, pooled, content="公海客户的跟进")
    Customer.objects.filter(pk=pooled.pk).update(owner=None)
    theirs = log(world_a.rep2, make_customer(world_a.rep2, "别人的客户丁"), content="别人的跟进")

    def seen(user):
        return set(FollowUp.objects.visible_to(user).values_list("pk", flat=True))

    everything = {on_customer.pk, on_lead.pk, on_opportunity.pk, theirs.pk}
    assert seen(world_a.admin) == everything
    assert seen(world_a.manager) == everything
    assert seen(world_a.rep1) == {on_customer.pk, on_lead.pk, on_opportunity.pk}
    assert seen(world_a.rep2) == {theirs.pk}
    assert seen(world_a.agent) == set()
    assert in_pool.pk not in seen(world_a.admin)

    # The opportunity's customer goes to the pool: its follow-up is still the opportunity owner's.
    Customer.objects.filter(pk=deal_customer.pk).update(owner=None)
    assert on_opportunity.pk in seen(world_a.rep1) and on_opportunity.pk in seen(world_a.admin)
    # The list shows the page's rows newest first, with their customer and lead.
    rows = client_for(world_a.admin).get(reverse("sales:followup_list")).context["follow_ups"]
    assert [f.pk for f in rows] == sorted(
        (on_customer.pk, on_lead.pk, on_opportunity.pk, theirs.pk),
        key=lambda pk: (FollowUp.objects.get(pk=pk).happened_at, pk),
        reverse=True,
    )
    assert {f.lead.name for f in rows if f.lead_id} == {"线索甲"}
