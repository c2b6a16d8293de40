"""Through PgBouncer in transaction mode (scripts/pgbouncer.py, the load test's configuration): two clients that
share one server connection never see each other's tenant context, and sessions start in UTC, so Django sends no
session-level SET TIME ZONE that would stay on the shared server connection."""

from __future__ import annotations

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from crm.tenancy import context_sql
from scripts import pgbouncer


@pytest.fixture
def bouncer(tmp_path_factory):
    """PgBouncer with one server connection for the test database, as the app role."""
    directory = tmp_path_factory.mktemp("pgbouncer")
    directory.chmod(0o755)
    port = pgbouncer.free_port()
    name = connection.settings_dict["NAME"]
    config = pgbouncer.write_config(directory, port=port, dbname=name, user=settings.DATABASE_APP["USER"], pool_size=1)
    with pgbouncer.running(config, port):
        clients = [psycopg2.connect(host="127.0.0.1", port=port, dbname=name, user="any") for _ in range(2)]
        for client in clients:
            client.autocommit = True  # as Django: each statement its own transaction unless in atomic()
        yield clients
        for client in clients:
            client.close()


def one(client, statement: str):
    with client.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()[-1][0] if cursor.description else None


@pytest.mark.django_db(transaction=True)
def test_tenant_context_and_time_zone_hold_through_pgbouncer(world_a, world_b, bouncer):
    a, b = bouncer
    teams = "SELECT count(*) FROM crm_team"
    # What the database backend sends: the context and the statement in one round trip (crm/tenancy.py).
    assert one(a, context_sql(world_a.tenant.pk) + teams) == 4
    # The same server connection, the other client, no context: nothing of the first tenant's.
    assert one(a, "SELECT pg_backend_pid()") == one(b, "SELECT pg_backend_pid()")
    assert one(b, "SELECT coalesce(current_setting('app.tenant_id', true), '')") == ""
    assert one(b, teams) == 0
    assert one(b, context_sql(world_b.tenant.pk) + "SELECT min(tenant_id) FROM crm_team") == world_b.tenant.pk

    # A transaction's context ends with it, even rolled back.
    b.autocommit = False
    assert one(b, context_sql(world_b.tenant.pk) + teams) == 4
    b.rollback()
    b.autocommit = True
    assert one(a, teams) == 0

    # Sessions start in UTC (the app role's setting, crm.rls.app_role_sync), so Django's connection setup has nothing
    # to SET.
    for client in (a, b):
        assert client.get_parameter_status("TimeZone") == "UTC"
        assert one(client, "SHOW TimeZone") == "UTC"
