"""Operators' Django admin under row-level security: served as the app role, it shows the tenant tables of the one
company the operator chose, and says which."""

import pytest
from django.test import Client

from crm.models import AuditEvent, User

from ..conftest import two_factor_login


@pytest.fixture
def operator_client(db):
    operator = User.objects.create_superuser(email="ops@example.test", password="pw-123456", full_name="Ops")
    client = Client()
    two_factor_login(client, operator)
    client.operator = operator
    return client


def test_tenant_tables_stay_empty_until_a_company_is_chosen(operator_client, world_a, world_b):
    companies = operator_client.get("/admin/crm/tenant/").content.decode()
    assert world_a.tenant.name in companies and world_b.tenant.name in companies
    users = operator_client.get("/admin/crm/user/").content.decode()
    assert world_a.rep1.email in users and world_b.rep1.email in users

    teams = operator_client.get("/admin/crm/team/").content.decode()
    assert world_a.sales.name not in teams and world_b.sales.name not in teams
    assert "no company chosen" in teams


def test_a_chosen_company_is_shown_named_and_audited(operator_client, world_a, world_b):
    response = operator_client.post(
        "/admin/crm/tenant/",
        {"action": "show_company_data", "_selected_action": [world_a.tenant.pk]},
        follow=True,
    )
    assert f"The admin now shows the data of {world_a.tenant.name}." in response.content.decode()

    teams = operator_client.get("/admin/crm/team/").content.decode()
    assert world_a.sales.name in teams and world_b.sales.name not in teams
    assert f"showing the data of {world_a.tenant.name}" in teams
    for url in (
        "/admin/sales/lead/",
        "/admin/sales/pipeline/",
        "/admin/crm/auditevent/",
        f"/admin/crm/team/{world_a.team1.pk}/change/",
    ):
        assert operator_client.get(url).status_code == 200, url
    # Another company's row is not there to open.
    assert operator_client.get(f"/admin/crm/team/{world_b.team1.pk}/change/").status_code == 302
    assert AuditEvent.objects.filter(
        tenant=world_a.tenant, actor=operator_client.operator, action="operator.show_data"
    ).exists()


def test_choosing_needs_exactly_one_company(operator_client, world_a, world_b):
    response = operator_client.post(
        "/admin/crm/tenant/",
        {"action": "show_company_data", "_selected_action": [world_a.tenant.pk, world_b.tenant.pk]},
        follow=True,
    )
    assert "Choose exactly one company." in response.content.decode()
    assert "no company chosen" in operator_client.get("/admin/crm/team/").content.decode()
