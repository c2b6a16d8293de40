"""Row-level security: the second wall between tenants, kept by PostgreSQL itself.

Every table with a `tenant_id` column has row-level security enabled and forced, and one policy: a row is seen,
changed, deleted or written only when its `tenant_id` is the connection's `app.tenant_id` setting (the tenant
context, crm/tenancy.py). A missing or empty setting matches no row, so a statement sent without a context sees
nothing and can write nothing — never every tenant's rows, never an error.

Two database roles:
- the owner (settings.DATABASE_OWNER) owns the tables, runs migrations and the operators' manage.py commands; it
  must be a superuser or have BYPASSRLS, since operators' commands (seed_demo, create_tenant…) span tenants;
- the app role (settings.DATABASE_APP: web server, Celery worker, beat) owns no table, is no superuser, cannot
  bypass row-level security and holds only the grants below. `app_role_sync` creates it if missing and grants it
  after every migrate; default privileges give it the tables migrations create later.

A new tenant table gets its policy from its migration, next to its CreateModel:

    from crm.rls import EnableRowLevelSecurity
    ...
    EnableRowLevelSecurity("ticket"),

An operation in the migration (rather than a sweep after migrate) protects the table in the same transaction that
creates it, shows in `sqlmigrate` and is reversed with the migration. tests/security/test_row_level_security.py
fails for any table with `tenant_id` that lacks it, naming the line to add, unless the table is in OUTSIDE below.

After every migrate (`sync_after_migrate`), two things follow the schema with no line of a new app's own: every
reference between two protected tables gets a foreign key that includes the tenant (`tenant_references_sync`: the
database refuses a row that points into another tenant, and the planner keeps its estimates under row-level
security), and the app role gets its grants (`app_role_sync`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import truncate_name
from psycopg2 import sql

POLICY_NAME = "tenant_isolation"
SETTING = "app.tenant_id"
# current_setting(..., true) is NULL when the setting was never made and '' after a transaction that set it ended;
# both compare unequal to every tenant_id.
POLICY_EXPRESSION = f"tenant_id = NULLIF(current_setting('{SETTING}', true), '')::bigint"

# Tables that stay outside row-level security, each with its reason. Entries ending in "_" cover every table whose
# name starts with it. The catalog test requires every table of the schema to be protected or listed here.
OUTSIDE = {
    "crm_tenant": "the tenants themselves: no tenant_id; read before any context exists (the public form's slug, "
    "the middleware's user.tenant, dispatchers' tenant lists)",
    "crm_user": "login must find a user by email before any tenant is known, and emails are unique across tenants; "
    "every page still reads users through User.objects.for_tenant()",
    "crm_user_groups": "Django's group membership of users: unused (roles live on the user), no tenant data",
    "crm_user_user_permissions": "Django's model permissions of users: unused (roles live on the user)",
    "auth_": "Django's permission and group catalog: the same for every tenant",
    "django_": "Django's own tables: migrations, content types, sessions, the operators' admin log",
    "axes_": "django-axes' login attempts, kept by email and address before any tenant is known",
    "crm_outboxtask": "task calls waiting for the broker (a task name and ids, no tenant data): the relay sends every "
    "tenant's in order, from beat, before any tenant context",
    "otp_": "django-otp's two-factor devices and recovery codes: they belong to a user (crm_user is outside too), are "
    "read at login before any tenant is known, and operators, who have no tenant, hold them as well",
    "guardian_": "django-guardian's generic object permissions: unused; shares use the direct-foreign-key tables, "
    "which carry the tenant and are protected",
}

NAME_LENGTH = 63  # PostgreSQL's longest identifier

# Tables the app role may read but not write: the schema's own catalog, written only by migrate.
READ_ONLY_FOR_APP = ("django_migrations", "django_content_type", "auth_permission")


def outside_reason(table: str) -> str | None:
    for name, reason in OUTSIDE.items():
        if table == name or (name.endswith("_") and table.startswith(name)):
            return reason
    return None


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    """Enable and force row-level security on a tenant model's table, with the tenant policy."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return self.__class__.__qualname__, [self.model_name], {}

    def state_forwards(self, app_label, state):
        pass

    def _table(self, app_label, schema_editor, state) -> str | None:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        return model._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table = self._table(app_label, schema_editor, to_state)
        if table is None:
            return
        quoted = schema_editor.quote_name(table)
        schema_editor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY {POLICY_NAME} ON {quoted} USING ({POLICY_EXPRESSION}) WITH CHECK ({POLICY_EXPRESSION})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        table = self._table(app_label, schema_editor, from_state)
        if table is None:
            return
        quoted = schema_editor.quote_name(table)
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {quoted}")
        schema_editor.execute(f"ALTER TABLE {quoted} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {quoted} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"


def app_role_sync(connection: BaseDatabaseWrapper, app: dict) -> None:
    """Make the app role exist and hold exactly the grants it needs on this database; refuse a role that could
    step over row-level security. Runs as the owner after every migrate (and so on the test database too)."""
    role, password = app["USER"], app.get("PASSWORD") or None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        owner, owner_bypasses = cursor.fetchone()
        if role == owner:
            raise ImproperlyConfigured(
                f"The app connects as {role!r}, the owner of the tables: set DATABASE_APP_URL to another role."
            )
        if not owner_bypasses:
            raise ImproperlyConfigured(
                f"The owner role {owner!r} needs BYPASSRLS (or to be a superuser): operators' commands span tenants."
            )
        name = sql.Identifier(role)
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            # Created once, with the password of DATABASE_APP_URL; changing it later is ALTER ROLE's job.
            create = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT").format(
                name
            )
            if password:
                create = sql.SQL("{} PASSWORD {}").format(create, sql.Literal(password))
            cursor.execute(create.as_string(cursor.connection))
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, "
            "EXISTS (SELECT 1 FROM pg_class WHERE relowner = pg_roles.oid AND relnamespace = 'public'::regnamespace) "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        superuser, bypasses, owns_tables = cursor.fetchone()
        if superuser or bypasses or owns_tables:
            raise ImproperlyConfigured(
                f"The app role {role!r} must be no superuser, have no BYPASSRLS and own no table in this database."
            )
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relnamespace = 'public'::regnamespace",
            [list(READ_ONLY_FOR_APP)],
        )
        read_only = [sql.Identifier(table) for (table,) in cursor.fetchall()]
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), name
            ),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(name),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
            *(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(table, name) for table in read_only),
            # Tables and sequences the owner creates later (the next migrations) are the app's at once.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(name),
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}").format(name),
            # The app's sessions start in UTC, the time zone Django works in (USE_TZ): Django then never sends a
            # session-level SET TIME ZONE on connecting, which behind PgBouncer in transaction mode would stay on a
            # server connection that other clients' transactions reuse (docs/scaling.md §3).
            sql.SQL("ALTER ROLE {} SET timezone TO 'UTC'").format(name),
        ]
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))


# Every foreign key between two protected tables, by (table, column, referenced table), and the composite ones
# that tie it to the tenant: (tenant_id, column) → referenced (tenant_id, id).
_REFERENCES_SQL = """
    SELECT src.relname, a.attname, dst.relname
    FROM pg_constraint c
    JOIN pg_class src ON src.oid = c.conrelid
    JOIN pg_class dst ON dst.oid = c.confrelid
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]
    WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND r.attname = 'id' AND a.attname <> 'tenant_id'
      AND src.relnamespace = 'public'::regnamespace AND src.relrowsecurity AND dst.relrowsecurity
"""
_TENANT_REFERENCES_SQL = """
    SELECT src.relname, a2.attname, dst.relname, c.conname
    FROM pg_constraint c
    JOIN pg_class src ON src.oid = c.conrelid
    JOIN pg_class dst ON dst.oid = c.confrelid
    JOIN pg_attribute a1 ON a1.attrelid = c.conrelid AND a1.attnum = c.conkey[1]
    JOIN pg_attribute a2 ON a2.attrelid = c.conrelid AND a2.attnum = c.conkey[2]
    JOIN pg_attribute r1 ON r1.attrelid = c.confrelid AND r1.attnum = c.confkey[1]
    JOIN pg_attribute r2 ON r2.attrelid = c.confrelid AND r2.attnum = c.confkey[2]
    WHERE c.contype = 'f' AND cardinality(c.conkey) = 2 AND src.relnamespace = 'public'::regnamespace
      AND a1.attname = 'tenant_id' AND r1.attname = 'tenant_id' AND r2.attname = 'id'
"""


def tenant_references(connection: BaseDatabaseWrapper) -> tuple[set, dict]:
    """(the references between protected tables, the composite tenant foreign keys that exist, by reference)."""
    with connection.cursor() as cursor:
        cursor.execute(_REFERENCES_SQL)
        wanted = set(cursor.fetchall())
        cursor.execute(_TENANT_REFERENCES_SQL)
        existing = {(table, column, target): name for table, column, target, name in cursor.fetchall()}
    return wanted, existing


def tenant_key_name(table: str, column: str) -> str:
    """The tenant foreign key's name. It starts with a capital letter, so it sorts before the lower-case names
    Django gives its own keys: the planner weighs a table's foreign keys in name order, and only the first that
    matches a join counts (see tenant_references_sync)."""
    return truncate_name(f"T_{table}_{column}", NAME_LENGTH)


def tenant_references_sync(connection: BaseDatabaseWrapper) -> None:
    """Tie every reference between two protected tables to the tenant: a foreign key on (tenant_id, column) to the
    referenced table's (tenant_id, id), beside Django's own one on the column.

    The database then refuses a row that points into another tenant. And the planner learns what row-level security
    hides from it. With every joined table filtered by the tenant, it estimates a join of a tenant's customers to
    their pools as if 1 pool in N (tenants) matched, and picks plans made for a few rows: at 51 tenants the customer
    list sorted every customer before its LIMIT, 0.3 ms became about 300 ms. A foreign key that includes the tenant
    lets it know each row has its match (PostgreSQL's foreign-key join estimate, which discounts the tenant filter
    both sides share) — provided it meets that key before Django's key on the same column, hence the names.

    Run after every migrate, so a new app's references are covered without a line of its own; indexes are built
    concurrently and keys validated after being added, so a large table is not locked meanwhile.
    """
    wanted, existing = tenant_references(connection)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for (table, column, target), name in existing.items():
            if (table, column, target) not in wanted:  # the column's key was dropped or points elsewhere now
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            elif name != tenant_key_name(table, column):
                cursor.execute(
                    f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(name)} TO {quote(tenant_key_name(table, column))}"
                )
        missing = sorted(wanted - set(existing))
        for target in sorted({target for _, _, target in missing}):
            index = truncate_name(f"{target}_tenant_id_id_uniq", NAME_LENGTH)
            cursor.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote(index)} ON {quote(target)} (tenant_id, id)"
            )
        for table, column, target in missing:
            name = quote(tenant_key_name(table, column))
            cursor.execute(
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {name} FOREIGN KEY (tenant_id, {quote(column)}) "
                f"REFERENCES {quote(target)} (tenant_id, id) DEFERRABLE INITIALLY DEFERRED NOT VALID"
            )
            cursor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {name}")


def sync_after_migrate(sender, using: str, **kwargs) -> None:
    """post_migrate receiver (crm.apps), after every migrate, including the test database's: the tenant references
    and the app role follow the schema."""
    connection = connections[using]
    tenant_references_sync(connection)
    app_role_sync(connection, settings.DATABASE_APP)
