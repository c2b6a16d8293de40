"""The survey results: CSAT per agent, team, category and month computed on known answers, who sees which
surveys, the comments' filters, bounded queries, another tenant's ids, and the CSAT figure on the reports."""

import datetime as dt

import pytest
from django.utils import timezone

from service.models import SatisfactionSurvey, Status, TicketCategory
from service.selectors.survey import csat, csat_breakdowns, csat_figure, nps, surveys_visible_to
from service.services.survey import survey_answer
from service.services.ticket import ticket_set_status
from tests.factories import UserFactory

from .helpers import make_customer, make_ticket

NOW = timezone.now()


def answered(world, customer, contact, rating, *, agent=None, category=None, comment="", when=None):
    ticket = make_ticket(world, customer, contact, assignee=agent or world.agent, category=category)
    ticket_set_status(acting_user=world.admin, ticket=ticket, status=Status.RESOLVED)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    survey_answer(tenant_id=world.tenant.pk, survey_id=survey.pk, rating=rating, comment=comment, now=when or NOW)
    return survey


@pytest.fixture
def rated(world_a):
    """Known answers: agent 客服 5, 4, 2 (category 网络); a second agent 1 and 4 (no category), one a month ago;
    one survey sent and not answered."""
    customer, contact = make_customer(world_a.rep1)
    network = TicketCategory.objects.create(tenant=world_a.tenant, name="网络")
    second = UserFactory(
        tenant=world_a.tenant, team=world_a.service_team, email="agent2@a.test", full_name="A 客服二", roles=["agent"]
    )
    for rating, comment in ((5, "很满意"), (4, ""), (2, "太慢了")):
        answered(world_a, customer, contact, rating, category=network, comment=comment)
    answered(world_a, customer, contact, 1, agent=second, comment="没人理我", when=NOW - dt.timedelta(days=35))
    answered(world_a, customer, contact, 4, agent=second)
    pending = make_ticket(world_a, customer, contact, assignee=world_a.agent)
    ticket_set_status(acting_user=world_a.admin, ticket=pending, status=Status.RESOLVED)
    return world_a, second, network


def test_the_formulas():
    assert csat(3, 5) == 60.0 and csat(0, 0) is None
    assert nps(5, 2, 10) == 30.0 and nps(0, 3, 3) == -100.0 and nps(0, 0, 0) is None


@pytest.mark.django_db
def test_breakdowns_on_known_answers(rated):
    world, second, network = rated
    data = csat_breakdowns(surveys_visible_to(world.admin), world.tenant.tzinfo)
    assert data["total"]["answers"] == 5 and data["total"]["satisfied"] == 3 and data["total"]["csat"] == 60.0
    assert data["total"]["low"] == 2
    agents = {row["agent_id"]: (row["answers"], row["csat"]) for row in data["agents"]}
    assert agents == {world.agent.pk: (3, 66.7), second.pk: (2, 50.0)}
    categories = {row["category__name"]: (row["answers"], row["csat"]) for row in data["categories"]}
    assert categories == {"网络": (3, 66.7), None: (2, 50.0)}
    assert [row["answers"] for row in data["teams"]] == [5]
    months = [(row["month"].date().replace(day=1), row["answers"]) for row in data["months"]]
    local = timezone.localtime(NOW, world.tenant.tzinfo).date().replace(day=1)
    assert months[0] == (local, 4) and sum(n for _m, n in months) == 5


@pytest.mark.django_db
def test_who_sees_which_surveys(rated, world_b):
    world, second, _network = rated
    assert surveys_visible_to(world.admin).count() == 6
    assert set(surveys_visible_to(world.agent).values_list("agent_id", flat=True)) == {world.agent.pk}
    assert surveys_visible_to(second).count() == 2
    assert surveys_visible_to(world.rep1).count() == 0
    # The sales manager manages no service team: nothing; once they manage it, all of it.
    assert surveys_visible_to(world.manager).count() == 0
    world.service_team.manager = world.manager
    world.service_team.save(update_fields=["manager"])
    assert surveys_visible_to(world.manager).count() == 6
    assert surveys_visible_to(world_b.admin).count() == 0


@pytest.mark.django_db
def test_the_results_page_and_its_filters(rated, client_for):
    world, second, network = rated
    admin = client_for(world.admin)
    page = admin.get("/tickets/surveys/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="csat-total">60.0%' in text
    assert "很满意" in text and "太慢了" in text and "没人理我" in text
    low = admin.get("/tickets/surveys/", {"low": "on"}).content.decode()
    assert "太慢了" in low and "没人理我" in low and "很满意" not in low
    by_agent = admin.get("/tickets/surveys/", {"agent": second.pk}).content.decode()
    assert 'data-testid="csat-total">50.0%' in by_agent and "太慢了" not in by_agent
    by_category = admin.get("/tickets/surveys/", {"category": network.pk}).content.decode()
    assert 'data-testid="csat-answers">3<' in by_category
    partial = admin.get("/tickets/surveys/", {"rating": "5"}, HTTP_HX_REQUEST="true")
    assert "HX-Request" in partial["Vary"] and b"<html" not in partial.content and "很满意" in partial.content.decode()
    # An agent sees only their own answers.
    mine = client_for(second).get("/tickets/surveys/").content.decode()
    assert "没人理我" in mine and "太慢了" not in mine
    assert client_for(world.rep1).get("/tickets/surveys/").status_code == 403


@pytest.mark.django_db
def test_another_tenants_ids_in_the_filters_show_nothing_of_theirs(rated, world_b, client_for):
    world, second, network = rated
    page = client_for(world_b.admin).get("/tickets/surveys/", {"agent": second.pk, "category": network.pk})
    text = page.content.decode()
    assert page.status_code == 200 and "太慢了" not in text and 'data-testid="csat-answers">0<' in text


@pytest.mark.django_db
def test_the_results_page_runs_a_bounded_number_of_queries(world_a, client_for, django_assert_max_num_queries):
    customer, contact = make_customer(world_a.rep1)
    for i in range(30):
        answered(world_a, customer, contact, 1 + i % 5, comment=f"意见 {i}")
    client = client_for(world_a.admin)
    client.get("/tickets/surveys/")  # warm the session and the tenant's lookups
    with django_assert_max_num_queries(25):
        page = client.get("/tickets/surveys/")
    assert page.status_code == 200 and page.content.decode().count('data-testid="survey-comment"') == 25


@pytest.mark.django_db
def test_the_csat_figure_on_the_reports(rated, client_for):
    world, _second, _network = rated
    figure = csat_figure(world.admin, NOW - dt.timedelta(days=7), NOW + dt.timedelta(days=1))
    assert (figure.answers, figure.satisfied, figure.csat) == (4, 3, 75.0)
    assert csat_figure(world.rep1) is None
    page = client_for(world.admin).get("/reports/", {"period": "month"})
    assert page.status_code == 200 and b'data-testid="report-figure-csat"' in page.content
