"""Query parameters are parsed by small forms: odd values (a NUL byte, a date at the end of time, a non-ASCII digit,
an id past the integer range, a wrong type) fall back to their defaults — never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer
from customers.services.assignment_rule import rule_save
from customers.services.trash import customer_trash

from .helpers import make_customer

ODD = ["\x00", "9999-12-31", "0001-01-01", "²", "99999999999999999999999", "-1", "x" * 5000, "[]"]


def odd_queries(*names):
    return [{name: value} for name in names for value in ODD]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "names"),
    [
        ("sales:calendar", ("date", "view", "member")),
        ("sales:opportunity_board", ("pipeline", "owner", "q")),
        ("sales:appointment_create", ("date", "customer")),
        ("sales:task_create", ("customer",)),
        ("sales:order_create", ("customer",)),
        ("sales:customer_options", ("customer", "customer_search", "q")),
        ("sales:contact_options", ("customer",)),
        ("customers:trash", ("q",)),
    ],
)
def test_odd_query_values_never_answer_500(world, client_for, url_name, names):
    make_customer(world.manager, "参数客户")
    c = client_for(world.manager)
    for query in odd_queries(*names):
        response = c.get(reverse(url_name), query)
        assert response.status_code == 200, (query, response.status_code)


@pytest.mark.django_db
def test_the_calendar_falls_back_to_this_week_for_a_date_out_of_range(world, client_for):
    c = client_for(world.rep1)
    response = c.get(reverse("sales:calendar"), {"date": "9999-12-31", "view": "month"})
    assert response.status_code == 200
    assert response.context["view"] == "month"
    assert response.context["anchor"] == response.context["today"]
    # A date within range is kept.
    assert c.get(reverse("sales:calendar"), {"date": "2030-01-02"}).context["anchor"].isoformat() == "2030-01-02"


@pytest.mark.django_db
def test_merge_and_the_bin_search_with_odd_values(world, client_for):
    keep = make_customer(world.rep1, "保留的客户")
    gone = make_customer(world.rep1, "删掉的客户")
    customer_trash(acting_user=world.rep1, customer=gone)
    c = client_for(world.manager)
    for query in ({"q": "\x00"}, {"other": "²"}, {"other": "99999999999999999999"}, {"q": "删掉"}):
        assert c.get(reverse("customers:merge", args=[keep.pk]), query).status_code == 200, query
    response = c.get(reverse("customers:trash"), {"q": "删掉"})
    assert [x.pk for x in response.context["page"]] == [gone.pk]
    assert Customer.objects.filter(pk=gone.pk, deleted_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_rule_dry_run_with_an_odd_pool_shows_every_pool(world, client_for):
    rule = rule_save(
        acting_user=world.admin,
        tenant=world.tenant,
        name="参数规则",
        applies_to="customers",
        team=world.sales,
        method="round_robin",
    )
    c = client_for(world.admin)
    for pool in ("²", "\x00", "99999999999999999999", "abc"):
        assert c.get(reverse("assignment:enable", args=[rule.pk]), {"pool": pool}).status_code == 200, pool
