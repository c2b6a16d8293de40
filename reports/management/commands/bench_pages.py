"""Measure the pages and jobs of `make bench` on the data set of `bench_seed` (DESIGN.md §8).

Each page is requested through the test client (server time: URL resolution, middleware, view, template), on a
connection switched to the app role (SET ROLE, as the web server and the worker connect: row-level security
applies, as in production), as the big tenant's admin, the manager of a team of 10 reps, and a rep: one warm-up, then the median of --repeat. Beside it,
its query count and the EXPLAIN ANALYZE execution time of its main query (the slowest statement of the request).
The jobs (the customer and the lead fall-back) run in a transaction that is rolled back, so the data set stays as
seeded, beside the EXPLAIN ANALYZE time of their due predicate. Writes bench/results.json, a list of
{"name", "role", "ms", "sql_ms", "queries"} (jobs with role "job"), and prints the table.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python manage.py bench_pages [--repeat 5] [--only customer]
"""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

import psycopg2.sql
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Role, Tenant, User
from crm.tenancy import tenant_context
from customers.selectors.pool import pools_with_rules
from customers.services.fallback import due_now, fallback_run
from sales.selectors.lead_pool import lead_fallback_due, lead_pools_with_rules
from sales.services.lead_fallback import lead_fallback_run

from .bench_seed import BIG_SLUG

ROLES = ("admin", "manager", "rep")
# (name, URL, roles that see the page)
PAGES = [
    ("customer list, page 1", "/customers/", ROLES),
    ("customer list, page 200", "/customers/?page=200", ROLES),
    ("sorted by last follow-up", "/customers/?sort=last_followed_up", ROLES),
    ("sorted by last follow-up, page 200", "/customers/?sort=last_followed_up&page=200", ROLES),
    ("sorted by recent follow-up", "/customers/?sort=-last_followed_up", ROLES),
    ("sorted by name", "/customers/?sort=name", ROLES),
    ("sorted by fall-back", "/customers/?sort=fallback", ROLES),
    ("search, name prefix 杭州", "/customers/?q=杭州", ROLES),
    ("search, initials zs", "/customers/?q=zs", ROLES),
    ("search, pinyin hangzhou", "/customers/?q=hangzhou", ROLES),
    ("search, substring 越博建材", "/customers/?q=越博建材", ROLES),
    ("search, phone tail 5678", "/customers/?q=5678", ROLES),
    ("search, whole phone", "/customers/?q=13800001234", ROLES),
    ("pool list", "/pool/", ROLES),
    ("pool search 杭州", "/pool/?q=杭州", ROLES),
    ("pool health", "/pool/health/", ("admin", "manager")),
    ("opportunity board", "/opportunities/board/", ROLES),
    ("opportunity list", "/opportunities/", ROLES),
    ("lead list", "/leads/", ROLES),
    ("leads search", "/leads/?q=杭州", ROLES),
    ("follow-ups", "/followups/", ROLES),
    ("tasks", "/tasks/", ROLES),
    ("home", "/", ROLES),
    ("top-bar search 杭州", "/search/?q=杭州", ROLES),
    ("top-bar search 越博建材", "/search/?q=越博建材", ROLES),
    # The REST API's customer list (cursor pages of 50, the page's selector and FilterSet), as the same users with
    # their session (the API takes a session as it takes a personal token); "next:" follows page 1's next link.
    ("API customer list", "/api/v1/customers/", ROLES),
    ("API customer list, next page", "next:/api/v1/customers/", ROLES),
    ("API customer list, key accounts", "/api/v1/customers/?key_account=true", ROLES),
]
CONTEXT_PREFIX = re.compile(r"^SELECT set_config\('app\.tenant_id', '\d*', true\); ")


def results_merge(path: Path, rows: list[dict]) -> None:
    """Add `rows` to the results file: a row replaces the one of the same name and role, the others stay (the
    commands of `make bench` each write their own rows into the one file)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        kept = []
    index = {(r.get("name"), r.get("role")): i for i, r in enumerate(kept)}
    for row in rows:
        key = (row["name"], row["role"])
        if key in index:
            kept[index[key]] = row
        else:
            index[key] = len(kept)
            kept.append(row)
    path.write_text(json.dumps(kept, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class Command(BaseCommand):
    help = "Time every list page per role and the fall-back jobs on the bench data set; write bench/results.json."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument(
            "--only", default="", help="only the pages and jobs whose name contains one of these (comma-separated)"
        )
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "bench" / "results.json"))
        parser.add_argument("--no-jobs", action="store_true")

    def handle(self, *args, repeat, only, output, no_jobs, **opts):
        tenant = Tenant.objects.filter(slug=BIG_SLUG).first()
        if tenant is None:
            raise CommandError("no bench data set here: run manage.py bench_seed first")
        with tenant_context(tenant.pk):
            users = {
                "admin": User.objects.filter(tenant=tenant, roles__contains=[Role.ADMIN]).order_by("pk").first(),
                "manager": User.objects.filter(tenant=tenant, email__startswith="manager0@").first(),
                "rep": User.objects.filter(tenant=tenant, email__startswith="rep0@").first(),
            }
        self.path = Path(output)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        results = []
        connection.ensure_connection()
        self._as_app_role(True)
        try:
            self._measure(results, users, tenant, repeat, only, no_jobs)
        finally:
            self._as_app_role(False)
        self.stdout.write(f"\nwrote {self.path}")

    def _as_app_role(self, app: bool) -> None:
        """Switch the connection to the app role and back with the driver's own cursor (not counted as a query)."""
        with connection.connection.cursor() as cursor:
            cursor.execute(
                psycopg2.sql.SQL("SET ROLE {}").format(psycopg2.sql.Identifier(settings.DATABASE_APP["USER"]))
                if app
                else "RESET ROLE"
            )

    def _measure(self, results: list, users: dict, tenant: Tenant, repeat: int, only: str, no_jobs: bool) -> None:
        for name, url, roles in PAGES:
            if not self._wanted(name, only):
                continue
            for role in roles:
                results.append(self._page(name, url, role, users[role], tenant, repeat))
                self._print(results[-1])
        if not no_jobs:
            for job_name, job in (
                ("customer fall-back", self._customer_fallback),
                ("lead fall-back", self._lead_fallback),
            ):
                if not self._wanted(job_name, only):
                    continue
                row = job(tenant)
                results.append(row)
                self._print(row)

    def _wanted(self, name: str, only: str) -> bool:
        return not only or any(part and part in name for part in only.split(","))

    def _print(self, row: dict) -> None:
        """Print the row and merge it into the file at once: a run stopped halfway keeps what it measured."""
        results_merge(self.path, [row])
        self.stdout.write(
            f"{row['name']:<40} {row['role']:<8} {row['ms']:>9,.0f} ms  main query {row['sql_ms']:>8,.1f} ms"
            f"  {row['queries']:>3} queries"
        )

    def _page(self, name: str, url: str, role: str, user: User, tenant: Tenant, repeat: int) -> dict:
        client = Client()
        client.force_login(user)
        if url.startswith("next:"):
            url = url.removeprefix("next:")
            first = client.get(url)
            if first.status_code != 200:
                raise CommandError(f"{url} as {role}: HTTP {first.status_code}")
            # A data set smaller than a page has no next page: its first page is measured again.
            url = first.json().get("next") or url
        response = client.get(url)  # warm-up (and the caches a first request fills)
        if response.status_code != 200:
            raise CommandError(f"{url} as {role}: HTTP {response.status_code}")
        timings = []
        queries = []
        for _ in range(max(repeat, 1)):
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
            queries = captured.captured_queries
        return {
            "name": name,
            "role": role,
            "ms": round(statistics.median(timings), 1),
            "sql_ms": round(self._main_query_ms(queries, tenant), 1),
            "queries": len(queries),
        }

    def _main_query_ms(self, queries: list[dict], tenant: Tenant) -> float:
        """EXPLAIN ANALYZE of the slowest SELECT of the request, in the tenant's context."""
        # A UNION starts with its first part's parenthesis: "(SELECT …) UNION ALL (SELECT …)" is a SELECT too.
        selects = [q for q in queries if CONTEXT_PREFIX.sub("", q["sql"]).lstrip("( \n").upper().startswith("SELECT")]
        if not selects:
            return 0.0
        slowest = max(selects, key=lambda q: float(q["time"]))
        return self._explain(CONTEXT_PREFIX.sub("", slowest["sql"]), None, tenant)

    def _explain(self, sql: str, params, tenant: Tenant) -> float:
        with tenant_context(tenant.pk), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)  # noqa: S608 - the page's own SQL
            plan = cursor.fetchone()[0]
            transaction.set_rollback(True)
        if isinstance(plan, str):
            plan = json.loads(plan)
        return float(plan[0]["Execution Time"])

    def _job(self, name: str, run, tenant: Tenant, due_sql: list[tuple[str, list]]) -> dict:
        now = timezone.now()
        with tenant_context(tenant.pk):
            sql_ms = sum(self._explain(sql, params, tenant) for sql, params in due_sql)
            with transaction.atomic(), CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                moved = run(tenant=tenant, now=now)
                ms = (time.perf_counter() - t0) * 1000
                transaction.set_rollback(True)
        self.stdout.write(f"{name}: {moved:,} moved (rolled back)")
        return {"name": name, "role": "job", "ms": round(ms, 1), "sql_ms": round(sql_ms, 1), "queries": len(captured)}

    def _customer_fallback(self, tenant: Tenant) -> dict:
        with tenant_context(tenant.pk):
            due = [
                due_now(pool, timezone.now()).order_by().values("pk").query.sql_with_params()
                for pool in pools_with_rules(tenant)
            ]
        return self._job("customer fall-back", fallback_run, tenant, due)

    def _lead_fallback(self, tenant: Tenant) -> dict:
        with tenant_context(tenant.pk):
            due = [
                lead_fallback_due(pool).order_by().values("pk").query.sql_with_params()
                for pool in lead_pools_with_rules(tenant)
            ]
        return self._job("lead fall-back", lead_fallback_run, tenant, due)
