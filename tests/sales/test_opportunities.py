"""Opportunities: bad input refused with nothing saved, moving through the stages (every move in the history, a
lost stage asking its reason), winning recording an order and the customer's last deal, who may see and move what,
the list with totals and the kanban board with a fixed number of queries, and the htmx move the board makes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.db import connection
from django.template import Context, Template
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from crm.errors import DomainError
from crm.forms import QuickSelect
from crm.models import AuditEvent
from customers.models import Customer
from sales.models import Opportunity, Order, OrderLine, StageChange
from sales.services.opportunity import opportunity_create, opportunity_move, opportunity_update
from sales.services.order import Line, order_void
from sales.services.pipeline import pipeline_create

from .funnel import make_opportunity, stages
from .helpers import make_customer

BOARD = reverse("sales:opportunity_board")
LIST = reverse("sales:opportunity_list")


def move_url(opportunity):
    return reverse("sales:opportunity_move", args=[opportunity.pk])


# --- creating ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_opportunity_for_a_customer_with_product_lines(world, client_for):
    customer = make_customer(world.rep1, "扬州瘦西湖旅游有限公司")
    pipeline, ordered = stages(world.tenant)
    close = (timezone.localdate() + timedelta(days=30)).isoformat()
    data = {
        "name": "团建系统",
        "customer": customer.pk,
        "pipeline": pipeline.pk,
        "stage": ordered[1].pk,
        "amount": "",
        "currency": "CNY",
        "expected_close_date": close,
        "probability": "",
        "owner": world.rep1.pk,
        "notes": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-name": "专业版",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "12800",
        "lines-1-name": "实施",
        "lines-1-quantity": "3",
        "lines-1-unit_price": "2000",
    }
    response = client_for(world.rep1).post(reverse("sales:opportunity_create"), data)
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302
    assert (opportunity.amount, opportunity.stage, opportunity.status, opportunity.probability) == (
        Decimal("31600.00"),
        ordered[1],
        "open",
        ordered[1].probability,
    )
    assert opportunity.lines.count() == 2
    change = StageChange.objects.get(opportunity=opportunity)
    assert (change.from_stage, change.to_stage, change.by) == (None, ordered[1], world.rep1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"amount": Decimal("-1")}, "amount", "The amount cannot be negative."),
        ({"expected_close_date": "past"}, "expected_close_date", "is in the past"),
        ({"expected_close_date": "far"}, "expected_close_date", "more than 10 years ahead"),
        ({"probability": 120}, "probability", "from 0 to 100"),
        ({"currency": "XYZ"}, "currency", "is not a currency your company uses"),
        ({"stage": "won"}, "stage", "starts in an open stage"),
        ({"stage": "other-pipeline"}, "stage", "Choose a stage of the pipeline"),
        ({"name": " "}, "name", "Give the opportunity a name."),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(world, changes, field, message):
    customer = make_customer(world.rep1, "校验客户有限公司")
    pipeline, ordered = stages(world.tenant)
    values = {
        "acting_user": world.rep1,
        "customer": customer,
        "name": "校验",
        "pipeline": pipeline,
        "amount": Decimal("100"),
        "currency": "CNY",
    }
    today = timezone.localdate()
    for key, value in changes.items():
        if value == "past":
            value = today - timedelta(days=1)
        elif value == "far":
            value = today.replace(year=today.year + 11)
        elif value == "won":
            value = ordered[-2]
        elif value == "other-pipeline":
            value = pipeline_create(acting_user=world.admin, name="别的").stages.filter(kind="open").first()
        values[key] = value
    with pytest.raises(DomainError) as refused:
        opportunity_create(**values)
    assert refused.value.field == field and message in refused.value.message
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()


@pytest.mark.django_db
def test_an_opportunity_needs_a_customer_the_user_may_change(world, world_b):
    theirs = make_customer(world.rep2, "二号的客户有限公司")
    other_tenant = make_customer(world_b.rep1, "B 的客户有限公司")
    pipeline, _ordered = stages(world.tenant)
    for customer in (theirs, other_tenant):
        with pytest.raises(DomainError) as refused:
            opportunity_create(acting_user=world.rep1, customer=customer, name="x", pipeline=pipeline)
        assert refused.value.field == "customer"
    assert not Opportunity.objects.exists()


# --- moving, winning, losing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_move_is_recorded_and_the_probability_follows_the_stage(world):
    opportunity = make_opportunity(world.rep1, probability=5)
    _pipeline, ordered = stages(world.tenant)
    assert opportunity.probability == 5
    moved = opportunity_move(acting_user=world.manager, opportunity=opportunity, stage=ordered[2])
    assert (moved.stage, moved.probability_override, moved.probability) == (ordered[2], None, ordered[2].probability)
    history = list(StageChange.objects.filter(opportunity=opportunity).order_by("at", "pk"))
    assert [(c.from_stage, c.to_stage) for c in history] == [(None, ordered[0]), (ordered[0], ordered[2])]
    assert history[1].by == world.manager and history[1].amount == Decimal("1000")
    assert AuditEvent.objects.filter(action="opportunity.move", object_id=str(opportunity.pk)).exists()


@pytest.mark.django_db
def test_a_lost_stage_asks_its_reason(world):
    opportunity = make_opportunity(world.rep1)
    _pipeline, ordered = stages(world.tenant)
    lost = ordered[-1]
    with pytest.raises(DomainError) as refused:
        opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=lost, lost_reason="  ")
    assert refused.value.field == "lost_reason"
    opportunity.refresh_from_db()
    assert opportunity.status == "open" and StageChange.objects.count() == 1
    moved = opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=lost, lost_reason="价格")
    assert (moved.status, moved.lost_reason, moved.closed_at is not None) == ("lost", "价格", True)
    assert StageChange.objects.filter(opportunity=opportunity).latest("at").note == "价格"
    # Reopened: the reason goes, the history stays.
    moved = opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=ordered[0])
    assert (moved.status, moved.lost_reason, moved.closed_at) == ("open", "", None)
    assert StageChange.objects.filter(opportunity=opportunity).count() == 3


@pytest.mark.django_db
def test_winning_records_an_order_and_the_customers_last_deal(world, client_for):
    customer = make_customer(world.rep1, "泰州华泰化工有限公司")
    _pipeline, ordered = stages(world.tenant)
    opportunity = make_opportunity(
        world.rep1,
        customer,
        amount="8000",
        lines=[Line(name="专业版", quantity=Decimal("2"), unit_price=Decimal("4000"))],
    )
    assert customer.last_deal_at is None
    won = opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=ordered[-2])
    order = won.order
    assert (won.status, order.customer, order.amount, order.currency) == ("won", customer, Decimal("8000"), "CNY")
    assert list(OrderLine.objects.filter(order=order).values_list("name", "quantity")) == [("专业版", Decimal("2"))]
    customer.refresh_from_db()
    assert customer.last_deal_at is not None
    # The customer page shows the order and the won opportunity.
    page = client_for(world.rep1).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("sales:order_detail", args=[order.pk]) in page
    assert reverse("sales:opportunity_detail", args=[opportunity.pk]) in page
    # A won opportunity whose order stands is not moved again…
    with pytest.raises(DomainError) as refused:
        opportunity_move(acting_user=world.rep1, opportunity=won, stage=ordered[0])
    assert "void the order" in refused.value.message
    # …until the order is voided.
    order_void(acting_user=world.rep1, order=order, reason="录错了")
    assert opportunity_move(acting_user=world.rep1, opportunity=won, stage=ordered[0]).status == "open"


@pytest.mark.django_db
def test_winning_without_an_amount_is_refused_and_saves_nothing(world):
    opportunity = make_opportunity(world.rep1, amount="0")
    _pipeline, ordered = stages(world.tenant)
    with pytest.raises(DomainError) as refused:
        opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=ordered[-2])
    assert "Enter the amount" in refused.value.message
    opportunity.refresh_from_db()
    assert opportunity.status == "open" and not Order.objects.exists() and StageChange.objects.count() == 1


@pytest.mark.django_db
def test_a_stage_of_another_pipeline_or_tenant_is_refused(world, world_b):
    opportunity = make_opportunity(world.rep1)
    other = pipeline_create(acting_user=world.admin, name="续约")
    _pipeline_b, stages_b = stages(world_b.tenant)
    for stage in (other.stages.filter(kind="open").first(), stages_b[1]):
        with pytest.raises(DomainError) as refused:
            opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=stage)
        assert refused.value.field == "stage"
    opportunity.refresh_from_db()
    assert opportunity.stage.pipeline_id == opportunity.pipeline_id and StageChange.objects.count() == 1


@pytest.mark.django_db
def test_who_may_see_and_move_an_opportunity(world, world_b, client_for):
    opportunity = make_opportunity(world.rep1)
    _pipeline, ordered = stages(world.tenant)
    url = reverse("sales:opportunity_detail", args=[opportunity.pk])
    assert client_for(world.rep1).get(url).status_code == 200
    assert client_for(world.manager).get(url).status_code == 200
    for user in (world.rep2, world_b.admin, world_b.rep1):
        c = client_for(user)
        assert c.get(url).status_code == 404
        assert c.post(move_url(opportunity), {"stage": ordered[1].pk}).status_code == 404
        assert c.post(move_url(opportunity), {"stage": ordered[1].pk}, HTTP_HX_REQUEST="true").status_code == 404
    opportunity.refresh_from_db()
    assert opportunity.stage == ordered[0]


@pytest.mark.django_db
def test_follow_ups_on_an_opportunity_count_for_its_customer(world, client_for):
    opportunity = make_opportunity(world.rep1)
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client_for(world.rep1).post(
        reverse("sales:opportunity_followup", args=[opportunity.pk]),
        {"kind": "visit", "happened_at": now, "content": "演示了方案", "outcome": "positive"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "演示了方案" in response.content.decode()
    opportunity.refresh_from_db()
    customer = Customer.objects.get(pk=opportunity.customer_id)
    assert opportunity.last_followed_up_at is not None and customer.last_followed_up_at is not None
    assert opportunity.follow_ups.get().customer == customer


@pytest.mark.django_db
def test_a_won_opportunity_keeps_its_orders_amount(world, client_for):
    opportunity = make_opportunity(world.rep1, amount="500")
    _pipeline, ordered = stages(world.tenant)
    opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=ordered[-2])
    with pytest.raises(DomainError):
        opportunity_update(
            acting_user=world.rep1,
            opportunity=opportunity,
            name="改名",
            amount=Decimal("900"),
            currency="CNY",
            expected_close_date=None,
            probability=None,
            contact=None,
            owner=world.rep1,
        )
    response = client_for(world.rep1).get(reverse("sales:opportunity_edit", args=[opportunity.pk]))
    assert (
        response.status_code == 200
        and "its amount and product lines are those of its order" in response.content.decode()
    )


# --- the list and the board ------------------------------------------------------------------------------------


def _spread(user, count, start=0):
    """`count` opportunities of `user` over the open stages, won and lost."""
    _pipeline, ordered = stages(user.tenant)
    customer = make_customer(user, f"批量客户{start}有限公司")
    made = []
    for i in range(start, start + count):
        opportunity = make_opportunity(user, customer, amount=str(100 * (i + 1)), name=f"机会{i}")
        target = ordered[i % len(ordered)]
        if target != opportunity.stage:
            opportunity_move(acting_user=user, opportunity=opportunity, stage=target, lost_reason="价格")
        made.append(opportunity)
    return made


@pytest.mark.django_db
def test_the_board_shows_count_and_total_per_column_in_fixed_queries(world, client_for, django_assert_max_num_queries):
    c = client_for(world.manager)
    _spread(world.rep1, 5)
    with CaptureQueriesContext(connection) as ctx:
        c.get(BOARD)
    few = len(ctx.captured_queries)
    _spread(world.rep2, 45, start=5)
    with django_assert_max_num_queries(few):
        response = c.get(BOARD)
    body = response.content.decode()
    assert body.count('data-testid="card-') == 50
    assert few <= 14, few
    _pipeline, ordered = stages(world.tenant)
    columns = response.context["columns"]
    assert [col["stage"] for col in columns] == ordered
    for col in columns:
        expected = Opportunity.objects.filter(stage=col["stage"])
        assert col["count"] == expected.count()
        total = sum((o.amount for o in expected), Decimal("0"))
        assert sum((t["total"] for t in col["totals"]), Decimal("0")) == total


@pytest.mark.django_db
def test_the_closed_columns_count_and_sum_only_what_closed_recently(world, client_for):
    """The won and lost columns sum what closed in the last CLOSED_SHOWN_DAYS; the open columns everything open."""
    _pipeline, ordered = stages(world.tenant)
    won_stage, lost_stage = ordered[-2], ordered[-1]
    recent = make_opportunity(world.rep1, name="最近赢单", amount="700")
    old = make_opportunity(world.rep1, name="早已赢单", amount="900")
    lost = make_opportunity(world.rep1, name="最近丢单", amount="300")
    still_open = make_opportunity(world.rep1, name="还在跟进", amount="250")
    for opportunity in (recent, old):
        opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=won_stage)
    opportunity_move(acting_user=world.rep1, opportunity=lost, stage=lost_stage, lost_reason="预算取消")
    Opportunity.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=40))
    columns = {col["stage"]: col for col in client_for(world.manager).get(BOARD).context["columns"]}
    assert columns[won_stage]["count"] == 1
    assert [(t["currency"], t["total"]) for t in columns[won_stage]["totals"]] == [(recent.currency, Decimal("700"))]
    assert [card.pk for card in columns[won_stage]["cards"]] == [recent.pk]
    assert columns[lost_stage]["count"] == 1 and columns[lost_stage]["totals"][0]["total"] == Decimal("300")
    first = columns[still_open.stage]
    assert first["count"] == 1 and first["totals"][0]["total"] == Decimal("250")


@pytest.mark.django_db
def test_each_column_shows_its_latest_cards_up_to_the_limit(world, client_for, monkeypatch):
    """The per-column limit is applied per stage before the rows are joined: each column its newest entries."""
    monkeypatch.setattr("sales.views.board.CARDS_PER_COLUMN", 2)
    _pipeline, ordered = stages(world.tenant)
    customer = make_customer(world.rep1, "看板客户有限公司")
    first = [make_opportunity(world.rep1, customer, name=f"第一列{i}") for i in range(3)]
    Opportunity.objects.filter(pk=first[0].pk).update(stage_entered_at=timezone.now() + timedelta(hours=1))
    second = make_opportunity(world.rep2, name="第二列")
    opportunity_move(acting_user=world.rep2, opportunity=second, stage=ordered[1])
    columns = {col["stage"]: col for col in client_for(world.manager).get(BOARD).context["columns"]}
    first_column = columns[first[0].stage]
    assert [card.pk for card in first_column["cards"]] == [first[0].pk, first[2].pk]
    assert first_column["count"] == 3 and first_column["more"] == 1
    assert [card.pk for card in columns[ordered[1]]["cards"]] == [second.pk]
    assert first_column["cards"][0].customer.name == "看板客户有限公司"


@pytest.mark.django_db
def test_the_board_is_scoped_and_filters_by_owner(world, client_for):
    mine = make_opportunity(world.rep1, name="一号的机会")
    theirs = make_opportunity(world.rep2, name="二号的机会")
    body = client_for(world.rep1).get(BOARD).content.decode()
    assert "一号的机会" in body and "二号的机会" not in body
    body = client_for(world.manager).get(BOARD, {"owner": world.rep2.pk}).content.decode()
    assert "二号的机会" in body and "一号的机会" not in body
    # The owner menu: everyone the manager sees, the one asked for chosen.
    assert f'<option value="{world.rep2.pk}" selected>{world.rep2.full_name}</option>' in body
    assert f'<option value="{world.rep1.pk}">{world.rep1.full_name}</option>' in body
    assert '<option value="me">' in body and 'id="board-owner"' in body
    assert mine.pk != theirs.pk


@pytest.mark.django_db
def test_a_card_links_its_opportunity_and_its_move_as_reverse_would(world, client_for):
    opportunity = make_opportunity(world.rep1, name="链接的机会")
    body = client_for(world.rep1).get(BOARD).content.decode()
    assert f'data-move-url="{move_url(opportunity)}"' in body
    assert f'href="{reverse("sales:opportunity_detail", args=[opportunity.pk])}"' in body
    # The links are reversed once per name, not once per process: a script prefix is still honoured.
    plain = move_url(opportunity)
    set_script_prefix("/crm/")
    try:
        rendered = Template("{% load crm_tags %}{% pk_url 'sales:opportunity_move' pk %}").render(
            Context({"pk": opportunity.pk})
        )
        assert rendered == reverse("sales:opportunity_move", args=[opportunity.pk]) == f"/crm{plain}"
    finally:
        set_script_prefix("/")


@pytest.mark.django_db
def test_the_lists_menus_of_people_teams_and_stages_render_without_a_template_per_option(world, client_for):
    make_opportunity(world.rep1, name="菜单的机会")
    form = client_for(world.admin).get(LIST, {"owner": world.rep1.pk}).context["filter"].form
    for name in ("owner", "team", "pipeline", "stage"):
        field = form[name]
        assert isinstance(field.field.widget, QuickSelect), name
        django_select = forms.Select(choices=field.field.choices)
        expected = django_select.render(field.html_name, field.value(), {"id": field.auto_id})
        assert parse_html(field.as_widget(attrs={"id": field.auto_id})) == parse_html(expected), name
    assert f'<option value="{world.rep1.pk}" selected>' in str(form["owner"])


@pytest.mark.django_db
def test_a_drag_on_the_board_is_saved_at_once(world, client_for):
    opportunity = make_opportunity(world.rep1, name="拖动的机会")
    _pipeline, ordered = stages(world.tenant)
    c = client_for(world.rep1)
    response = c.post(move_url(opportunity), {"stage": ordered[2].pk, "owner": "", "q": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="board"' in response.content.decode()
    assert "拖动的机会" in json.loads(response["HX-Trigger"])["board-saved"]["message"]
    opportunity.refresh_from_db()
    assert opportunity.stage == ordered[2]
    # A refusal answers 409 with the reason: the card goes back on the board.
    response = c.post(move_url(opportunity), {"stage": ordered[-1].pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and response.content.decode() == "Say why the opportunity was lost."
    response = c.post(
        move_url(opportunity), {"stage": ordered[-1].pk, "lost_reason": "预算取消"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.lost_reason) == ("lost", "预算取消")
    response = c.post(move_url(opportunity), {"stage": "999999"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409


@pytest.mark.django_db
def test_the_list_has_totals_and_fixed_queries(world, client_for, django_assert_max_num_queries):
    c = client_for(world.manager)
    _spread(world.rep1, 5)
    with CaptureQueriesContext(connection) as ctx:
        c.get(LIST, {"status": "all"})
    few = len(ctx.captured_queries)
    _spread(world.rep2, 45, start=5)
    with django_assert_max_num_queries(few):
        response = c.get(LIST, {"status": "all"})
    assert response.content.decode().count('data-testid="opportunity-row"') == 50
    totals = response.context["totals"]
    assert totals[0]["count"] == 50
    assert totals[0]["total"] == sum((Decimal(100 * (i + 1)) for i in range(50)), Decimal("0"))
    # The weighted total is summed per stage and override, then weighted: the same as weighting each opportunity.
    Opportunity.objects.filter(pk=Opportunity.objects.order_by("pk").first().pk).update(probability_override=33)
    everyone = Opportunity.objects.select_related("stage")
    totals = c.get(LIST, {"status": "all"}).context["totals"]
    assert totals[0]["weighted"] == sum((o.weighted_amount for o in everyone), Decimal("0"))
    open_only = c.get(LIST).context["totals"][0]
    assert open_only["count"] == Opportunity.objects.filter(status="open").count()
    # 15: one more than before for the stages' probabilities, which weight the totals summed per stage (the sums
    # no longer join the stages nor multiply every row: an index-only scan over the open opportunities).
    assert few <= 15, few


@pytest.mark.django_db
def test_the_detail_page_moves_and_shows_the_history(world, client_for):
    opportunity = make_opportunity(world.rep1, name="详情页的机会")
    _pipeline, ordered = stages(world.tenant)
    c = client_for(world.rep1)
    response = c.post(move_url(opportunity), {"stage": ordered[-1].pk}, follow=True)
    assert "Say why the opportunity was lost." in response.content.decode()
    response = c.post(move_url(opportunity), {"stage": ordered[1].pk}, follow=True)
    body = response.content.decode()
    assert 'data-testid="stage-history"' in body and body.count("list-group-item") >= 2
    opportunity.refresh_from_db()
    assert opportunity.stage == ordered[1]
