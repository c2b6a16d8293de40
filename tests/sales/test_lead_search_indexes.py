"""The lead search under row-level security: name and company prefixes on their pattern indexes, contains and phone
tails through the tenant-scoped id functions; the functions answer only for the connection's tenant."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.urls import reverse

from crm.tenancy import tenant_context
from sales.filters import search_leads
from sales.models import Lead

from .. import app_role
from .funnel import make_lead

LIST = reverse("sales:lead_list")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["杭州", "王小", "云帆科技", "5678", "45678"])
def test_every_lead_search_arm_is_served_by_an_index_as_the_app_role(world, query):
    make_lead(world.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678")
    for user in (world.admin, world.manager, world.rep1):
        with tenant_context(world.tenant.pk):
            queryset = search_leads(Lead.objects.visible_to(user), query, world.tenant, user)
        sql, params = queryset.order_by().values("pk")[:10001].query.sql_with_params()
        with app_role.serving(), tenant_context(world.tenant.pk), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - the queryset's own SQL
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        assert "Seq Scan" not in plan, plan


@pytest.mark.django_db
def test_contains_tails_and_wildcards(world, world_b, client_for):
    make_lead(world.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678")
    make_lead(world.rep1, "李_四", company="成都100%贸易", phone="13900001111")
    make_lead(world_b.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678")
    c = client_for(world.rep1)

    def names(q):
        return [lead.name for lead in c.get(LIST, {"q": q}).context["leads"]]

    assert names("云帆科") == ["王小明"]
    assert names("小明") == []  # two characters: prefixes only
    assert names("王小明") == ["王小明"]
    assert names("5678") == ["王小明"]
    assert names("1111") == ["李_四"]
    assert names("李_四") == ["李_四"]
    assert names("_四") == []  # two characters: prefixes only
    assert names("0%贸") == ["李_四"]
    assert names("%贸易") == ["李_四"]
    assert names("1%贸") == []  # "%" and "_" are literal, not wildcards
    assert names("云_科") == []


@pytest.mark.django_db
def test_the_lead_id_functions_answer_only_for_the_connections_tenant(world, world_b):
    ours = make_lead(world.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678")
    make_lead(world_b.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678")
    with app_role.serving(), transaction.atomic(), connection.cursor() as cursor:
        with tenant_context(world.tenant.pk):
            cursor.execute("SELECT lead_ids_name_contains('云帆科', 10), lead_ids_phone_ending('5678', 10)")
            assert cursor.fetchone() == ([ours.pk], [ours.pk])
        cursor.execute("SELECT lead_ids_name_contains('云帆科', 10), lead_ids_phone_ending('5678', 10)")
        assert cursor.fetchone() == ([], [])
