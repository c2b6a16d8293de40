"""The opportunity search (the list's and the top bar's): the name by prefix and, from three characters, contained;
the customer's name by prefix; each arm on an index under row-level security, and the top bar's hits the first by
name of the matches."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.urls import reverse

from crm.tenancy import tenant_context
from sales.filters import search_opportunities
from sales.models import Opportunity
from sales.selectors.search import opportunity_hits

from .. import app_role
from .funnel import make_opportunity
from .helpers import make_customer

LIST = reverse("sales:opportunity_list")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["杭州", "年度", "云帆科技", "CRM升级"])
def test_every_opportunity_search_arm_is_served_by_an_index_as_the_app_role(world, query):
    make_opportunity(world.rep1, make_customer(world.rep1, "杭州云帆科技有限公司"), name="CRM升级项目")
    for user in (world.admin, world.manager, world.rep1):
        with tenant_context(world.tenant.pk):
            queryset = search_opportunities(Opportunity.objects.visible_to(user), query, world.tenant, user)
        sql, params = queryset.order_by().values("pk")[:10001].query.sql_with_params()
        with app_role.serving(), tenant_context(world.tenant.pk), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - the queryset's own SQL
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        assert "Seq Scan" not in plan, plan
        if user == world.admin:
            # The whole tenant's: the customer arm is an array the customer index meets (an arm of the BitmapOr at
            # scale), not a subplan run as a filter over every opportunity of the tenant.
            assert "customer_id = ANY ($" in plan, plan
        else:
            # The owner's few: a subplan checking each of them, never a probe per customer so named.
            assert "SubPlan" in plan and "customer_id = ANY" not in plan, plan


@pytest.mark.django_db
def test_the_list_finds_by_name_prefix_contains_and_customer_name_in_its_own_tenant(world, world_b, client_for):
    customer = make_customer(world.rep1, "杭州云帆科技有限公司")
    make_opportunity(world.rep1, customer, name="CRM升级项目")
    make_opportunity(world.rep1, make_customer(world.rep1, "成都贸易"), name="年度_服务")
    make_opportunity(world_b.rep1, make_customer(world_b.rep1, "杭州云帆科技有限公司"), name="CRM升级项目")
    c = client_for(world.rep1)

    def names(q):
        return sorted(o.name for o in c.get(LIST, {"q": q, "status": "all"}).context["opportunities"])

    assert names("CRM") == ["CRM升级项目"]  # name prefix
    assert names("升级项") == ["CRM升级项目"]  # contained, three characters
    assert names("升级") == []  # two characters: prefixes only
    assert names("杭州云") == ["CRM升级项目"]  # the customer's name by prefix
    assert names("度_服") == ["年度_服务"]
    assert names("度%服") == []  # "%" is literal, not a wildcard


@pytest.mark.django_db
def test_the_top_bar_shows_the_first_matches_by_name_and_only_what_the_user_sees(world):
    for name in ["杭州C项目", "杭州A项目", "杭州B项目"]:
        make_opportunity(world.rep1, make_customer(world.rep1, f"{name}客户"), name=name)
    make_opportunity(world.rep2, make_customer(world.rep2, "杭州0客户"), name="杭州0项目")
    with tenant_context(world.tenant.pk):
        assert [hit.title for hit in opportunity_hits(world.rep1, "杭州", 2)] == ["杭州A项目", "杭州B项目"]
        assert [hit.title for hit in opportunity_hits(world.admin, "杭州", 2)] == ["杭州0项目", "杭州A项目"]


@pytest.mark.django_db
def test_the_opportunity_id_function_answers_only_for_the_connections_tenant(world, world_b):
    ours = make_opportunity(world.rep1, make_customer(world.rep1, "杭州云帆"), name="CRM升级项目")
    make_opportunity(world_b.rep1, make_customer(world_b.rep1, "杭州云帆"), name="CRM升级项目")
    with app_role.serving(), transaction.atomic(), connection.cursor() as cursor:
        with tenant_context(world.tenant.pk):
            cursor.execute("SELECT opportunity_ids_name_contains('升级项', 10)")
            assert cursor.fetchone() == ([ours.pk],)
        cursor.execute("SELECT opportunity_ids_name_contains('升级项', 10)")
        assert cursor.fetchone() == ([],)
