"""The schema stays ready for Citus distributed by tenant_id (docs/scaling.md §5): every unique index of a tenant
table includes tenant_id, every reference between tenant tables has a foreign key that includes it, and tenant
tables point only at each other or at the reference tables named below. Today's exceptions are listed, each with
its reason, so new code cannot add more; removing one is the migration docs/scaling.md plans."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from crm.models import Tenant
from crm.rls import tenant_references
from crm.services.tenant_archive import archive_models

# Small tables read everywhere: copied to every node (Citus reference tables). Distributed tables may point at them.
REFERENCE_TABLES = {
    "crm_tenant": "the companies themselves",
    "crm_user": "a login's email is unique across the installation, so users cannot be split by tenant; every tenant "
    "table points at them (owner, author, created_by)",
    "django_content_type": "approvals name the kind of object they are about",
    "auth_permission": "guardian's share rows name the permission",
    "auth_group": "Django's catalog, beside auth_permission",
    "auth_group_permissions": "Django's catalog, beside auth_permission",
}

# Unique indexes of tenant tables without tenant_id, as they stand today. Each is unique within one tenant anyway
# (the columns point at rows of one tenant, or are random), but Citus needs the distribution column in each; the
# change is the migration planned with the primary keys (docs/scaling.md §5). Do not add to this list: put tenant
# first in a new UniqueConstraint instead.
KNOWN_UNIQUE_WITHOUT_TENANT = {
    ("api_apitoken", "api_apitoken_digest_key"): "a token is found by its digest before its tenant is known",
    ("customers_contact", "customers_contact_one_primary"): "one primary contact per customer (partial index)",
    ("customers_customertag", "customers_customertag_unique"): "a tag once per customer",
    (
        "customers_customeruserobjectpermission",
        "customers_customeruserob_user_id_permission_id_co_119e133d_uniq",
    ): "django-guardian's own unique_together on its base model",
    ("customers_poollevelrule", "customers_poollevelrule_unique"): "one rule per pool and level",
    ("customers_poolteam", "customers_poolteam_unique"): "a team once per pool",
    ("marketing_coupon", "marketing_coupon_greeting_id_key"): "a greeting's one coupon (one-to-one)",
    ("marketing_coupon", "marketing_coupon_order_id_key"): "a coupon redeemed on one order (one-to-one)",
    ("sales_contract", "sales_contract_quote_id_key"): "a quote's one contract (one-to-one)",
    ("sales_leadpoolteam", "sales_leadpoolteam_unique"): "a team once per lead pool",
    ("sales_quote", "sales_quote_previous_id_key"): "a quote revised once (one-to-one to the previous version)",
}

UNIQUE_INDEXES = """
    SELECT t.relname, i.relname, ix.indisprimary,
           array_agg(a.attname ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL)
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_class i ON i.oid = ix.indexrelid
    CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE ix.indisunique AND t.relnamespace = 'public'::regnamespace
    GROUP BY 1, 2, 3
"""


def distributed_models():
    """Every tenant table but the reference ones: what Citus would distribute by tenant_id."""
    return [m for m in archive_models() if m._meta.db_table not in REFERENCE_TABLES]


@pytest.mark.django_db
def test_unique_indexes_of_tenant_tables_include_tenant():
    tables = {m._meta.db_table for m in distributed_models()}
    with connection.cursor() as cursor:
        cursor.execute(UNIQUE_INDEXES)
        rows = cursor.fetchall()
    offending = {
        (table, index)
        for table, index, primary, columns in rows
        if table in tables
        and "tenant_id" not in (columns or [])
        # The single `id` primary keys: today's one general exception (docs/scaling.md §5).
        and not (primary and columns == ["id"])
    }
    new = sorted(offending - set(KNOWN_UNIQUE_WITHOUT_TENANT))
    assert not new, f"Unique indexes without tenant_id (start the UniqueConstraint with tenant): {new}"
    gone = sorted(set(KNOWN_UNIQUE_WITHOUT_TENANT) - offending)
    assert not gone, f"Fixed, or renamed: remove from KNOWN_UNIQUE_WITHOUT_TENANT: {gone}"


@pytest.mark.django_db
def test_references_between_tenant_tables_include_tenant():
    """Django's single-column foreign key on each reference stays beside the composite one (today's known
    exception, dropped with the planned migration), but the composite (tenant_id, column) key must exist."""
    _, composite = tenant_references(connection)
    distributed = {m._meta.db_table for m in distributed_models()}
    missing, outside = [], []
    for model in distributed_models():
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.related_model is Tenant:
                continue
            target = field.related_model._meta.db_table
            if target in distributed:
                if (model._meta.db_table, field.column, target) not in composite:
                    missing.append(f"{model._meta.db_table}.{field.column} → {target}")
            elif target not in REFERENCE_TABLES:
                outside.append(f"{model._meta.db_table}.{field.column} → {target}")
    assert not missing, f"References between tenant tables without a (tenant_id, column) foreign key: {missing}"
    assert not outside, f"Tenant tables pointing at tables neither distributed nor reference: {outside}"


def test_reference_tables_exist_and_hold_no_other_tenant_data():
    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    assert set(REFERENCE_TABLES) <= tables
    tenant_tables = {m._meta.db_table for m in archive_models()}
    # Only the tenants and the users are both tenant data and reference tables.
    assert set(REFERENCE_TABLES) & tenant_tables == {"crm_tenant", "crm_user"}
