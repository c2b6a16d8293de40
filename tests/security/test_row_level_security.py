"""The second wall: PostgreSQL row-level security on every tenant table, the app role held to it, and the tenant
context that every statement carries (crm/rls.py, crm/tenancy.py).

The catalog tests read the migrated test database, so a new app's table that forgets its policy fails here. The
behaviour tests run statements as the app role (tests/app_role.py) against rows of two tenants.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, connections, transaction
from django.test import Client

from crm import rls
from crm.celery import app as celery_app
from crm.imports.models import ImportJob
from crm.imports.progress import ProgressWriter
from crm.models import Notification, Team
from crm.tenancy import TenantTask, context_sql, current_tenant_id, tenant_context
from customers.models import Customer, Tag
from customers.services.customer import customer_create
from customers.services.tenant import default_pool

from .. import app_role
from ..conftest import build_world, wait_for
from ..factories import TenantFactory

ROOT = Path(__file__).resolve().parent.parent.parent

# How PostgreSQL prints the policy of crm/rls.py back: the one rule every tenant table follows.
POLICY = "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::bigint)"

# Celery tasks that take no tenant: dispatchers that read only the tenant list (or ask each tenant in its own
# context) and enqueue one task per tenant. Every other task is a TenantTask.
DISPATCHERS = {
    "crm.tasks.redeliver_queued_messages": "asks each tenant in its context, enqueues redeliver_tenant_messages",
    "crm.api.tasks.redeliver_due_webhooks": "asks each tenant in its context, enqueues redeliver_tenant_webhooks",
    "crm.imports.tasks.recover_imports": "asks each tenant in its context, enqueues recover_tenant_imports",
    "customers.tasks.fallback_to_pool": "reads the tenant list",
    "customers.tasks.warn_before_fallback": "reads the tenant list",
    "customers.tasks.purge_trash_dispatch": "reads the tenant list",
    "sales.tasks.send_due_reminders": "asks each tenant in its context, enqueues send_tenant_reminders",
    "sales.tasks.send_contract_reminders": "reads the tenant list, enqueues send_tenant_contract_reminders",
    "sales.tasks.lead_fallback_to_pool": "reads the tenant list, enqueues lead_fallback_to_pool_for_tenant",
    "crm.tasks.purge_unverified_signups": "reads the tenant list (pending sign-ups), enqueues purge_unverified_signup",
    "crm.tasks.relay_outbox": "reads the outbox (task names and ids, outside row-level security), sends each waiting "
    "call to the broker; the tasks it sends run in their own tenant's context",
    "service.tasks.escalate_tickets": "asks each tenant in its context, enqueues escalate_tenant_tickets",
    "service.tasks.send_nps_invitations": "asks each tenant in its context, enqueues send_tenant_nps",
    "marketing.tasks.send_care_greetings": "asks each tenant in its context, enqueues send_tenant_care_greetings",
    "marketing.tasks.send_one_off_greetings": "asks each tenant in its context, enqueues send_tenant_one_off_greetings",
    "crm.api.tasks.purge_idempotency_keys": "asks each tenant in its context, enqueues purge_tenant_idempotency_keys",
    "marketing.tasks.send_blasts": "asks each tenant in its context, enqueues send_tenant_blasts",
    "marketing.tasks.compute_rfm": "asks each tenant in its context, enqueues compute_tenant_rfm",
    "reports.tasks.send_scheduled_reports": "asks each tenant in its context, enqueues send_tenant_reports",
    "reports.tasks.expire_report_files": "asks each tenant in its context, enqueues expire_tenant_report_files",
    "customers.tasks.fallback_dates_dispatch": "reads the tenant list, enqueues fallback_dates_for_tenant",
}
# Tasks that read and write no table at all.
OUTSIDE_THE_DATABASE = {
    "crm.tasks.heartbeat": "writes the health check's heartbeat keys in Redis",
}


def tables() -> dict[str, dict]:
    """Every table of the public schema: whether it has tenant_id, its RLS flags and its policies."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
            """
        )
        found = {
            name: {"enabled": enabled, "forced": forced, "tenant_id": has_tenant, "policies": []}
            for name, enabled, forced, has_tenant in cursor.fetchall()
        }
        cursor.execute(
            "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check FROM pg_policies "
            "WHERE schemaname = 'public'"
        )
        for table, *policy in cursor.fetchall():
            found[table]["policies"].append(tuple(policy))
    return found


def protected_tables() -> list[str]:
    return sorted(name for name, t in tables().items() if t["tenant_id"] and rls.outside_reason(name) is None)


def model_of(table: str) -> str:
    for model in apps.get_models():
        if model._meta.db_table == table:
            return f'{model._meta.app_label}: EnableRowLevelSecurity("{model._meta.model_name}")'
    return "its app's migration"


@pytest.mark.django_db
def test_every_table_with_tenant_id_has_forced_row_level_security_and_the_tenant_policy():
    problems = []
    for name, t in sorted(tables().items()):
        if not t["tenant_id"] or rls.outside_reason(name) is not None:
            continue
        expected = [(rls.POLICY_NAME, "PERMISSIVE", ["public"], "ALL", POLICY, POLICY)]
        if not (t["enabled"] and t["forced"] and t["policies"] == expected):
            problems.append(f"{name}: add to a migration of {model_of(name)} (crm/rls.py); found {t}")
    assert not problems, "Tenant tables without row-level security:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_every_other_table_is_outside_for_a_stated_reason():
    unexplained = [name for name, t in tables().items() if not t["tenant_id"] and rls.outside_reason(name) is None]
    assert not unexplained, f"Tables without tenant_id: give them one, or a reason in crm.rls.OUTSIDE: {unexplained}"
    names = set(tables())
    stale = [
        entry
        for entry in rls.OUTSIDE
        if not any(n == entry or (entry.endswith("_") and n.startswith(entry)) for n in names)
    ]
    assert not stale, f"crm.rls.OUTSIDE lists tables that do not exist: {stale}"
    # The exceptions named in the design: the tenant table itself and the login's user table.
    assert rls.outside_reason("crm_tenant") and rls.outside_reason("crm_user")
    assert not tables()["crm_user"]["enabled"]


@pytest.mark.django_db
def test_every_reference_between_tenant_tables_carries_the_tenant():
    wanted, existing = rls.tenant_references(connection)
    assert ("customers_customer", "pool_id", "customers_pool") in wanted and len(wanted) > 40
    missing = wanted - set(existing)
    assert not missing, f"References without their tenant foreign key (crm.rls.tenant_references_sync): {missing}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(k.conname ORDER BY k.conname) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' AND c.relname = ANY(%s) GROUP BY c.relname",
            [sorted({table for table, _, _ in wanted})],
        )
        keys_by_table = dict(cursor.fetchall())
    for (table, column, _), name in existing.items():
        assert name == rls.tenant_key_name(table, column)
        # The planner weighs a table's foreign keys in name order: the tenant keys must come first.
        tenant_keys = {n for (t, _, _), n in existing.items() if t == table}
        first = keys_by_table[table][: len(tenant_keys)]
        assert set(first) == tenant_keys, f"{table}: {keys_by_table[table]}"


@pytest.mark.django_db
def test_a_row_pointing_into_another_tenant_is_refused_even_to_the_owner(world_a, world_b):
    b_pool = default_pool(world_b.tenant)
    with pytest.raises(IntegrityError, match="T_customers_customer_pool_id"), transaction.atomic():
        Customer.objects.create(tenant=world_a.tenant, name="stray", owner=world_a.rep1, pool=b_pool)
        connection.check_constraints()


@pytest.mark.django_db
def test_the_planner_knows_a_tenants_rows_find_their_pool(world_a, world_b):
    """Row-level security filters every joined table by the tenant; without the tenant foreign key the planner
    would expect only 1 row in (number of tenants) to find its pool, and plan for a handful of rows."""
    for prefix in "CDEFG":
        tenant = TenantFactory(name=f"{prefix} 公司", slug=f"{prefix.lower()}-co")
        default_pool(tenant)
    pool = default_pool(world_a.tenant)
    Customer.objects.bulk_create(
        Customer(tenant=world_a.tenant, name=f"客户{i}", owner=world_a.rep1, pool=pool) for i in range(140)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer; ANALYZE customers_pool")
    with app_role.serving(), tenant_context(world_a.tenant.pk):
        plan = json.loads(Customer.objects.filter(tenant=world_a.tenant).select_related("pool").explain(format="json"))
    assert plan[0]["Plan"]["Plan Rows"] >= 100, plan[0]["Plan"]


@pytest.mark.django_db
def test_the_app_role_owns_nothing_cannot_bypass_and_holds_only_row_grants():
    role = settings.DATABASE_APP["USER"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, pg_has_role(%s, current_user, 'MEMBER') "
            "FROM pg_roles WHERE rolname = %s",
            [role, role],
        )
        assert cursor.fetchone() == (False, False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)", [role]
        )
        assert cursor.fetchone() == (0,)
        cursor.execute(
            "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_schema = 'public'",
            [role],
        )
        assert {p for (p,) in cursor.fetchall()} == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        cursor.execute(
            "SELECT table_name FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_name = ANY(%s) AND privilege_type <> 'SELECT'",
            [role, list(rls.READ_ONLY_FOR_APP)],
        )
        assert cursor.fetchall() == []
        # Tables the owner creates later are granted to the app role at once (default privileges).
        cursor.execute(
            "SELECT defaclobjtype, array_to_string(defaclacl, ',') FROM pg_default_acl "
            "WHERE defaclnamespace = 'public'::regnamespace AND defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        defaults = dict(cursor.fetchall())
        assert f"{role}=arwd/" in defaults["r"] and f"{role}=rU/" in defaults["S"]


@pytest.mark.django_db(transaction=True)
def test_logged_in_as_the_app_role_nothing_steps_over_the_wall():
    """A real login as the app role (what gunicorn and the worker open): no rows without a context, no way to
    switch row-level security off, to become the owner or to drop the policy."""
    world = build_world("W")
    Tag.objects.create(tenant=world.tenant, name="W tag")
    params = {**connection.get_connection_params(), "user": settings.DATABASE_APP["USER"]}
    params["password"] = settings.DATABASE_APP.get("PASSWORD") or None
    conn = psycopg2.connect(**{k: v for k, v in params.items() if v is not None and k != "cursor_factory"})
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_user, count(*) FROM customers_tag")
            assert cursor.fetchone() == (settings.DATABASE_APP["USER"], 0)
            cursor.execute(context_sql(world.tenant.pk) + "SELECT count(*) FROM customers_tag")
            assert cursor.fetchone() == (1,)
            # The setting lived for that statement's transaction only: the session keeps nothing.
            cursor.execute("SELECT count(*), current_setting('app.tenant_id', true) FROM customers_tag")
            assert cursor.fetchone() == (0, "")
            for statement, error in [
                ("SET row_security = off; SELECT count(*) FROM customers_tag", psycopg2.errors.InsufficientPrivilege),
                (f"SET ROLE {connection.settings_dict['USER']}", psycopg2.errors.InsufficientPrivilege),
                ("ALTER TABLE customers_tag DISABLE ROW LEVEL SECURITY", psycopg2.errors.InsufficientPrivilege),
                (f"DROP POLICY {rls.POLICY_NAME} ON customers_tag", psycopg2.errors.InsufficientPrivilege),
                ("CREATE TABLE app_owned (id int)", psycopg2.errors.InsufficientPrivilege),
            ]:
                with pytest.raises(error):
                    cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def two_tenants(world_a, world_b):
    for world in (world_a, world_b):
        Tag.objects.create(tenant=world.tenant, name=f"{world.tenant.name} tag")
        customer_create(acting_user=world.rep1, data={"name": f"{world.tenant.name} 客户"})
        Notification.objects.create(tenant=world.tenant, recipient=world.rep1, title="hello")
    return world_a, world_b


@pytest.mark.django_db
def test_without_a_context_every_tenant_table_is_empty_to_the_app(two_tenants):
    tenant_tables = protected_tables()
    with connection.cursor() as cursor:
        counts = {}
        for table in tenant_tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - a table name from the catalog
            counts[table] = cursor.fetchone()[0]
        assert counts["crm_team"] and counts["customers_tag"] and counts["crm_notification"]
        with app_role.serving():
            for table in tenant_tables:
                cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
                assert cursor.fetchone() == (0,), f"{table} shows rows without a tenant context"
            # An empty setting (what a transaction leaves behind) is no context either.
            cursor.execute("SELECT set_config('app.tenant_id', '', true); SELECT count(*) FROM crm_team")
            assert cursor.fetchone() == (0,)
            assert Customer.objects.count() == 0 and Team.objects.count() == 0


@pytest.mark.django_db
def test_a_context_shows_its_tenant_and_only_its_tenant(two_tenants):
    world_a, world_b = two_tenants
    with app_role.serving(), tenant_context(world_a.tenant.pk), connection.cursor() as cursor:
        for table in protected_tables():
            cursor.execute(f'SELECT count(*) FILTER (WHERE tenant_id <> %s) FROM "{table}"', [world_a.tenant.pk])  # noqa: S608
            assert cursor.fetchone() == (0,), f"{table} shows another tenant's rows"
        assert set(Team.objects.values_list("tenant_id", flat=True)) == {world_a.tenant.pk}
        assert Customer.objects.get().tenant_id == world_a.tenant.pk


@pytest.mark.django_db
def test_cross_tenant_updates_and_deletes_touch_no_row(two_tenants):
    world_a, world_b = two_tenants
    a_customer = Customer.objects.get(tenant=world_a.tenant)
    a_tag = Tag.objects.get(tenant=world_a.tenant)
    with app_role.serving(), tenant_context(world_b.tenant.pk):
        assert Customer.objects.filter(pk=a_customer.pk).update(name="B was here") == 0
        assert Tag.objects.filter(pk=a_tag.pk).delete() == (0, {})
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE customers_customer SET name = 'B was here' WHERE tenant_id = %s", [world_a.tenant.pk]
            )
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM customers_tag WHERE tenant_id = %s", [world_a.tenant.pk])
            assert cursor.rowcount == 0
    a_customer.refresh_from_db()
    assert a_customer.name == "A 公司 客户" and Tag.objects.filter(pk=a_tag.pk).exists()


@pytest.mark.django_db
def test_writing_a_row_into_another_tenant_is_refused(two_tenants):
    world_a, world_b = two_tenants
    with app_role.serving(), tenant_context(world_b.tenant.pk):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Tag.objects.create(tenant=world_a.tenant, name="planted by B")
        # Moving one of B's own rows into A is refused the same way.
        b_tag = Tag.objects.get()
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Tag.objects.filter(pk=b_tag.pk).update(tenant=world_a.tenant)
    with app_role.serving():
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Tag.objects.create(tenant=world_a.tenant, name="planted without a context")
    assert not Tag.objects.filter(name__startswith="planted").exists()


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_every_statement_carries_its_own_context():
    """Outside atomic() each statement is its own transaction: the context travels with each one, and nothing of
    it stays on the connection for the next (what a transaction-mode pooler needs)."""
    world_a, world_b = build_world("A"), build_world("B")
    with app_role.serving():
        assert connection.get_autocommit()
        with tenant_context(world_a.tenant.pk):
            assert {t.tenant_id for t in Team.objects.all()} == {world_a.tenant.pk}
            with tenant_context(world_b.tenant.pk):
                assert {t.tenant_id for t in Team.objects.all()} == {world_b.tenant.pk}
            assert {t.tenant_id for t in Team.objects.all()} == {world_a.tenant.pk}
        assert Team.objects.count() == 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            assert cursor.fetchone()[0] in (None, "")


@pytest.mark.django_db
def test_a_context_ended_inside_a_transaction_does_not_linger(two_tenants):
    world_a, _ = two_tenants
    with app_role.serving(), transaction.atomic():
        with tenant_context(world_a.tenant.pk):
            assert Team.objects.exists()
        assert not Team.objects.exists()


@pytest.mark.django_db
def test_a_page_that_lost_its_context_shows_nothing(two_tenants, client_for, monkeypatch):
    """Requests in tests are served as the app role: with the middleware's context taken away, the rep's own
    customer disappears from the list, so a path that forgets the context fails its test."""
    world_a, _ = two_tenants
    client = client_for(world_a.rep1)
    assert "A 公司 客户" in client.get("/customers/").content.decode()

    monkeypatch.setattr("crm.middleware.tenant_context", lambda tenant_id: tenant_context(None))
    assert "A 公司 客户" not in client.get("/customers/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_import_progress_writer_sends_the_context_on_its_own_connection(monkeypatch):
    """The progress writer opens a connection of its own (outside Django's): as the app role it must send the
    context itself, or the progress bar of a running import would never move."""
    world = build_world("P")
    job = ImportJob.objects.create(tenant=world.tenant, created_by=world.admin, original_name="x.csv")
    params = {**connection.get_connection_params(), "user": settings.DATABASE_APP["USER"]}
    params["password"] = settings.DATABASE_APP.get("PASSWORD") or None
    monkeypatch.setattr(connections["default"], "get_connection_params", lambda: params)
    writer = ProgressWriter(job.pk, every=1)
    try:
        writer(5, force=True)
        job.refresh_from_db()
        assert job.processed_rows == 0
        with tenant_context(world.tenant.pk):
            writer(7, force=True)
        job.refresh_from_db()
        assert job.processed_rows == 7
    finally:
        writer.close()


def test_every_task_runs_for_one_tenant_or_is_a_dispatcher():
    celery_app.loader.import_default_modules()  # what a worker does at start: every app's tasks module
    ours = {
        name: task
        for name, task in celery_app.tasks.items()
        if name.split(".")[0] in ("crm", "customers", "sales", "service", "marketing", "reports")
    }
    assert set(DISPATCHERS) | set(OUTSIDE_THE_DATABASE) <= set(ours)
    for name, task in ours.items():
        if name in DISPATCHERS or name in OUTSIDE_THE_DATABASE:
            assert not isinstance(task, TenantTask), name
        else:
            assert isinstance(task, TenantTask), f"{name}: use base=TenantTask with a tenant_id argument"


@pytest.mark.django_db  # each run is recorded for the tenant's admins (crm/jobs)
def test_a_tenant_task_runs_in_its_tenants_context_and_refuses_to_run_without_one():
    a, b = build_world("R").tenant.pk, build_world("S").tenant.pk
    seen = []

    @celery_app.task(base=TenantTask, name="tests.rls.probe")
    def probe(tenant_id: int, value: str) -> None:
        seen.append((current_tenant_id(), value))

    try:
        probe(a, "positional")
        probe(value="keyword", tenant_id=b)
        with pytest.raises(TypeError, match="tenant_id"):
            probe(value="none")
        with pytest.raises(TypeError, match="tenant_id"):
            probe(None, "none")
    finally:
        celery_app.tasks.unregister("tests.rls.probe")
    assert seen == [(a, "positional"), (b, "keyword")]
    assert current_tenant_id() is None


WORKER_SAW = []


@celery_app.task(base=TenantTask, name="tests.security.whoami")
def whoami(tenant_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, count(*) FROM crm_team")
        WORKER_SAW.append(cursor.fetchone())


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_runs_tasks_as_the_app_role_in_their_tenants_context(celery_worker):
    world = build_world("T")
    build_world("U")
    WORKER_SAW.clear()
    whoami.delay(world.tenant.pk)
    assert wait_for(lambda: WORKER_SAW)
    assert WORKER_SAW == [(settings.DATABASE_APP["USER"], Team.objects.filter(tenant=world.tenant).count())]


@pytest.mark.django_db(transaction=True)
def test_the_live_server_serves_as_the_app_role(live_server, monkeypatch):
    world = build_world("L")
    customer_create(acting_user=world.rep1, data={"name": "L 的客户"})
    client = Client()
    client.force_login(world.rep1)
    request = urllib.request.Request(
        f"{live_server.url}/customers/", headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    )

    def page() -> str:
        with urllib.request.urlopen(request) as response:  # noqa: S310 - the live server on localhost
            return response.read().decode()

    assert "L 的客户" in page()
    monkeypatch.setattr("crm.middleware.tenant_context", lambda tenant_id: tenant_context(None))
    assert "L 的客户" not in page()


def _settings_in_subprocess(command: list[str], **env) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_ROLE", "DJANGO_SETTINGS_MODULE")}
    environment.update(env)
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_operators_commands_connect_as_the_owner_and_the_served_app_as_the_app_role():
    show = "from django.db import connection as c; s = c.settings_dict; print(s['USER'], s['NAME'], s['ENGINE'])"
    owner = settings.DATABASE_OWNER
    assert _settings_in_subprocess([sys.executable, "manage.py", "shell", "-c", show]) == (
        f"{owner['USER']} {owner['NAME']} crm.database"
    )
    # gunicorn (crm.wsgi) and celery (crm.celery) set no role: they are the app.
    served = f"import crm.wsgi; {show}"
    assert _settings_in_subprocess([sys.executable, "-c", served]) == f"crm_app {owner['NAME']} crm.database"
    assert _settings_in_subprocess(
        [sys.executable, "-c", served], DATABASE_APP_URL="postgres://web:secret@db.example:6432/crm"
    ) == ("web crm crm.database")


def test_an_unknown_database_role_is_refused():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_ROLE": "admin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "DATABASE_ROLE must be 'app' or 'owner'" in result.stderr


@pytest.mark.django_db
def test_the_app_role_sync_refuses_an_app_that_is_the_owner():
    with pytest.raises(rls.ImproperlyConfigured, match="owner of the tables"):
        rls.app_role_sync(connection, {"USER": connection.settings_dict["USER"], "PASSWORD": ""})


def test_anonymous_pages_keep_working_without_a_context(db):
    """Login, password reset and sign-up are served with no context (the user table is outside the wall)."""
    for url in ("/login/", "/password/reset/", "/signup/"):
        assert Client().get(url).status_code == 200
