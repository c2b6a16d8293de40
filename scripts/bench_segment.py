"""The figures of segments and RFM at scale, on a throwaway database (never the development one):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_segment_bench .venv/bin/python scripts/ensure_db.py
    DATABASE_URL=... .venv/bin/python manage.py migrate -v0
    DATABASE_URL=... .venv/bin/python scripts/bench_segment.py [customers] [orders]

Seeds one tenant with N customers (default 1,000,000) and M orders (default 3,000,000) set-based
(INSERT … SELECT generate_series), then prints the RFM statement's EXPLAIN ANALYZE time (a first run that inserts
every score, then a rerun that changes nothing) and the segment counts at that size, each RFM one also as the
former query built it (one EXISTS per condition) for comparison. BENCH_TIMEOUT (seconds, default 300) cancels a
count that runs longer; BENCH_FRESH=1 deletes the scores first so the first run is measured again; the planner's
statistics are refreshed after the seed and the first run (see `analyze`), unless BENCH_NO_ANALYZE=1."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402
import psycopg2  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import OperationalError, connection, transaction  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.models import Tenant, User  # noqa: E402
from crm.services.tenant import tenant_create  # noqa: E402
from crm.tenancy import tenant_context  # noqa: E402
from crm.workcalendar.selectors import local_today  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.services.tenant import default_pool  # noqa: E402
from marketing.filters import score_range  # noqa: E402
from marketing.models import RfmScore  # noqa: E402
from marketing.selectors.segment import capped_count, filter_customers  # noqa: E402
from marketing.services.rfm import RFM_SQL, RFM_WORK_MEM, months_before  # noqa: E402

assert "bench" in connection.settings_dict["NAME"], "run only on a throwaway *_bench database"


def seed(tenant: Tenant, customers: int, orders: int) -> Tenant:
    if Customer.objects.filter(tenant=tenant).exists():
        return tenant
    pool = default_pool(tenant)
    owner = User.objects.filter(tenant=tenant).order_by("pk").first()
    regions = "ARRAY['上海','北京','广州','深圳','杭州','成都','武汉','南京','苏州','西安']"
    with connection.cursor() as cur:
        started = time.monotonic()
        cur.execute(
            f"""INSERT INTO customers_customer (created_at, updated_at, kind, name, name_pinyin, name_initials, status,
                 industry, region, source, is_key_account, credit_code, address, website, notes, tenant_id, pool_id,
                 extension_days, custom, owner_id)
            SELECT now() - mod(g, 1000) * interval '1 day', now(), 'company', '压测客户' || g, 'yace' || g, 'yc' || g,
                   'active', '', ({regions})[1 + mod(g, 10)], '', false, '', '', '', '', %s, %s, 0, '{{}}', %s
              FROM generate_series(1, %s) g""",  # noqa: S608 - constants only
            [tenant.pk, pool.pk, owner.pk, customers],
        )
        first = Customer.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True).first()
        cur.execute(
            """INSERT INTO sales_order (created_at, updated_at, ordered_on, amount, currency, reference, items_text,
                 notes, void_reason, customer_id, tenant_id, status)
            SELECT now(), now(), current_date - (random() * 700)::int, (100 + random() * 50000)::numeric(14, 2),
                   %s, '', '', '', '', %s + (random() * random() * (%s - 1))::bigint, %s, 'confirmed'
              FROM generate_series(1, %s) g""",
            [tenant.currency, first, customers, tenant.pk, orders],
        )
        print(f"seeded {customers:,} customers and {orders:,} orders in {time.monotonic() - started:.0f} s")
    analyze()
    return tenant


def analyze() -> None:
    """Fresh planner statistics, as autovacuum gives them after bulk writes. Through the owner's connection: the
    app role this script runs as owns no table, and PostgreSQL skips its ANALYZE with a mere warning — the
    tables then stay unanalyzed wherever autovacuum is off (this shared host), and the planner, estimating one
    row everywhere, drives a segment's count as a nested loop over a score-range scan per customer: minutes.
    BENCH_NO_ANALYZE=1 keeps that state, to see it."""
    if os.environ.get("BENCH_NO_ANALYZE"):
        return
    owner = settings.DATABASE_OWNER
    with (
        psycopg2.connect(
            dbname=owner["NAME"],
            user=owner["USER"],
            password=owner.get("PASSWORD") or None,
            host=owner["HOST"],
            port=owner["PORT"] or None,
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("ANALYZE customers_customer; ANALYZE sales_order; ANALYZE marketing_rfmscore;")


def explain(tenant: Tenant, label: str) -> None:
    today = local_today(tenant)
    params = {
        "tenant": tenant.pk,
        "currency": tenant.currency,
        "since": months_before(today, 12),
        "today": today,
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cur:
        started = time.monotonic()
        cur.execute("SET LOCAL work_mem = %s", [RFM_WORK_MEM])  # as rfm_compute runs it
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + RFM_SQL, params)
        plan = [row[0] for row in cur.fetchall()]
        elapsed = time.monotonic() - started
    print(f"RFM statement, {label}: {elapsed:.1f} s wall; {plan[-1].strip()}")


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 3_000_000
    tenant = Tenant.objects.filter(slug="bench").first()
    if tenant is None:
        tenant = tenant_create(
            name="压测公司", slug="bench", admin_email="admin@bench.test", admin_password="Bench-pass-1", language="en"
        )
    with tenant_context(tenant.pk):
        measure(tenant, customers, orders)


def separate_exists(tenant: Tenant, filters: dict):
    """The score-range filters as they were before: one EXISTS on the scores per condition (the "before" figure)."""
    customers = Customer.objects.filter(tenant_id=tenant.pk, deleted_at__isnull=True)
    for key, column in (("rfm_r", "recency"), ("rfm_f", "frequency"), ("rfm_m", "monetary")):
        if key in filters:
            scores = RfmScore.objects.filter(
                tenant_id=OuterRef("tenant_id"),
                customer=OuterRef("pk"),
                **{f"{column}__range": score_range(filters[key])},
            )
            customers = customers.filter(Exists(scores))
    return customers.order_by()


def timed_count(label: str, queryset, timeout_s: int) -> tuple[int, bool] | None:
    with connection.cursor() as cur:
        cur.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
    started = time.monotonic()
    try:
        with transaction.atomic():
            count, capped = capped_count(queryset)
    except OperationalError:
        print(f"{label}: cancelled after {timeout_s} s")
        return None
    finally:
        with connection.cursor() as cur:
            cur.execute("SET statement_timeout = 0")
    print(f"{label}: {count:,}{'+' if capped else ''} in {(time.monotonic() - started) * 1000:.0f} ms")
    return count, capped


def measure(tenant: Tenant, customers: int, orders: int) -> None:
    seed(tenant, customers, orders)
    if os.environ.get("BENCH_FRESH"):
        # Measure the first run again on a seeded database: no score yet.
        with connection.cursor() as cur:
            cur.execute("DELETE FROM marketing_rfmscore WHERE tenant_id = %s", [tenant.pk])
    explain(tenant, "first run (inserts every score)")
    analyze()
    explain(tenant, "rerun (nothing changed)")
    timeout_s = int(os.environ.get("BENCH_TIMEOUT", "300"))
    for filters in (
        {"region": "上海"},
        {"region": "上海", "rfm_cell": "champions"},
        {"rfm_r": "4-5", "rfm_f": "4-5"},
        {"rfm_r": "1-2", "rfm_f": "5", "rfm_m": "4-5"},
        {"region": "上海", "rfm_r": "5", "rfm_m": "1-2"},
    ):
        timed_count(f"segment count {filters}", filter_customers(tenant, filters), timeout_s)
        if any(key in filters for key in ("rfm_r", "rfm_f", "rfm_m")) and "rfm_cell" not in filters:
            with_region = separate_exists(tenant, filters)
            if "region" in filters:
                with_region = with_region.filter(region=filters["region"])
            timed_count("  before: one EXISTS per condition", with_region, timeout_s)


if __name__ == "__main__":
    main()
