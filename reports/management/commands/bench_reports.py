"""Benchmark the dashboards (DESIGN.md §8): one tenant with N opportunities over a year and four stage changes each,
owned by R reps in teams under one manager. Seeds with set-based SQL, rebuilds the funnel facts (timed), then prints
each dashboard's server time (the whole view, through the test client) beside the time of its slowest (main) query,
the query count and the load average, then the same for a rep's twelve-month page and the home page (the managers'
widget); and the funnel computed from its facts beside the same funnel from the raw stage history, the forecast from
its monthly sums beside the same forecast computed live (the figures must agree). `--size` picks a preset (s: 50,000 opportunities; m: 200,000; l: 500,000 and
2,000,000 stage changes). Run it against a scratch database, e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python manage.py bench_reports --size l
"""

import dataclasses
import os
import time

from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Role, Team, Tenant, User
from crm.services.tenant import tenant_create
from crm.workcalendar.selectors import local_today
from customers.models import Customer
from customers.services.tenant import default_pool
from reports.models import OpportunityFunnelFact
from reports.selectors.forecast import forecast, forecast_live
from reports.selectors.funnel import cohort, funnel, funnel_from_history
from reports.selectors.scope import ReportScope, preset_bounds
from reports.services.funnel_facts import funnel_facts_rebuild
from sales.models import Stage, StageKind
from sales.services.pipeline import ensure_default_pipeline

SIZES = {"s": 50_000, "m": 200_000, "l": 500_000}

DASHBOARDS = ("reports:funnel", "reports:forecast", "reports:team", "reports:activity")


class Command(BaseCommand):
    help = "Time the reports dashboards over many opportunities and stage changes, beside their bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), help="a preset number of opportunities (overrides)")
        parser.add_argument("--opportunities", type=int, default=500_000)
        parser.add_argument("--reps", type=int, default=200)
        parser.add_argument("--customers", type=int, default=20_000)
        parser.add_argument("--reuse", action="store_true", help="measure the tenant seeded by an earlier run")

    def handle(self, *args, opportunities, reps, customers, **opts):
        if opts.get("size"):
            opportunities = SIZES[opts["size"]]
        if opts.get("reuse") and Tenant.objects.filter(slug="bench-reports").exists():
            tenant = Tenant.objects.get(slug="bench-reports")
            if not OpportunityFunnelFact.objects.filter(tenant=tenant).exists():
                self.rebuild_facts(tenant)
            return self.measure(tenant)
        Tenant.objects.filter(slug="bench-reports").delete()
        tenant = tenant_create(
            name="Bench 报表",
            slug="bench-reports",
            admin_email="admin@bench-reports.test",
            admin_password=None,
            language="en",
        )
        root = Team.objects.get(tenant=tenant, parent=None)
        manager = User.objects.create(
            tenant=tenant, email="manager@bench-reports.test", full_name="Manager", roles=[Role.MANAGER], team=root
        )
        teams = []
        for i in range(10):
            team = Team.objects.create(tenant=tenant, name=f"Team {i}", parent=root, manager=manager if i < 5 else None)
            team.path = f"{root.path}{team.pk}/"
            team.save(update_fields=["path"])
            teams.append(team)
        root.manager = manager
        root.save(update_fields=["manager"])
        people = User.objects.bulk_create(
            [
                User(
                    tenant=tenant,
                    email=f"rep{i}@bench-reports.test",
                    full_name=f"Rep {i}",
                    roles=[Role.REP],
                    team=teams[i % 10],
                )
                for i in range(reps)
            ]
        )
        pool = default_pool(tenant)
        started = time.monotonic()
        held = Customer.objects.bulk_create(
            [
                Customer(tenant=tenant, name=f"Bench customer {i}", owner=people[i % reps], pool=pool)
                for i in range(customers)
            ],
            batch_size=5000,
        )
        pipeline = ensure_default_pipeline(tenant)
        ordered = list(Stage.objects.filter(pipeline=pipeline).ordered())
        open_ids = [s.pk for s in ordered if s.kind == StageKind.OPEN]
        won = next(s.pk for s in ordered if s.kind == StageKind.WON)
        lost = next(s.pk for s in ordered if s.kind == StageKind.LOST)
        first_customer = held[0].pk
        with connection.cursor() as cursor:
            # Opportunity i: created i minutes back over a year; every 10th won, every 7th lost, others open in a
            # stage by i; its owner is its customer's owner.
            cursor.execute(
                """
                INSERT INTO sales_opportunity (tenant_id, created_at, updated_at, name, customer_id, pipeline_id,
                    stage_id, status, owner_id, amount, currency, expected_close_date, lost_reason,
                    stage_entered_at, closed_at, notes, custom)
                SELECT %(t)s, now() - (i %% 525600) * interval '1 minute', now(), 'Bench deal ' || i,
                       c.id, %(p)s,
                       CASE WHEN i %% 10 = 0 THEN %(won)s WHEN i %% 7 = 0 THEN %(lost)s
                            ELSE (%(open)s::bigint[])[1 + i %% 4] END,
                       CASE WHEN i %% 10 = 0 THEN 'won' WHEN i %% 7 = 0 THEN 'lost' ELSE 'open' END,
                       c.owner_id, 1000 + i %% 50000, %(cur)s, current_date + (i %% 120 - 30),
                       CASE WHEN i %% 7 = 0 AND i %% 10 <> 0 THEN 'Reason ' || (i %% 5) ELSE '' END,
                       now(), CASE WHEN i %% 10 = 0 OR i %% 7 = 0 THEN now() - (i %% 400000) * interval '1 minute' END,
                       '', '{}'::jsonb
                FROM generate_series(1, %(n)s) i
                JOIN customers_customer c ON c.id = %(c0)s + (i %% %(nc)s)
                """,
                {
                    "t": tenant.pk,
                    "p": pipeline.pk,
                    "won": won,
                    "lost": lost,
                    "open": open_ids,
                    "cur": tenant.currency,
                    "n": opportunities,
                    "c0": first_customer,
                    "nc": customers,
                },
            )
            # Four moves each: through the first stages, the last into where it stands.
            cursor.execute(
                """
                INSERT INTO sales_stagechange (tenant_id, created_at, updated_at, opportunity_id, pipeline_id,
                    from_stage_id, to_stage_id, at, amount, currency, note)
                SELECT o.tenant_id, o.created_at, now(), o.id, o.pipeline_id,
                       CASE WHEN k = 1 THEN NULL ELSE (%(open)s::bigint[])[k - 1] END,
                       CASE WHEN k < 4 THEN (%(open)s::bigint[])[k] ELSE o.stage_id END,
                       o.created_at + k * interval '2 days', o.amount, o.currency, ''
                FROM sales_opportunity o CROSS JOIN generate_series(1, 4) k
                WHERE o.tenant_id = %(t)s
                """,
                {"t": tenant.pk, "open": open_ids},
            )
            cursor.execute("ANALYZE sales_opportunity; ANALYZE sales_stagechange; ANALYZE customers_customer")
            cursor.execute("SELECT count(*) FROM sales_stagechange WHERE tenant_id = %s", [tenant.pk])
            changes = cursor.fetchone()[0]
        self.stdout.write(
            f"seeded {opportunities:,} opportunities and {changes:,} stage changes in {time.monotonic() - started:.1f}s"
        )
        self.rebuild_facts(tenant)
        self.measure(tenant)

    def rebuild_facts(self, tenant):
        started = time.monotonic()
        written = funnel_facts_rebuild(tenant_id=tenant.pk)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reports_opportunityfunnelfact; ANALYZE reports_forecastmonth")
        self.stdout.write(f"funnel facts of {written:,} opportunities rebuilt in {time.monotonic() - started:.1f}s")

    def measure(self, tenant):
        admin = User.objects.get(tenant=tenant, email="admin@bench-reports.test")
        manager = User.objects.get(tenant=tenant, email="manager@bench-reports.test")
        pipeline = ensure_default_pipeline(tenant)
        start, end = preset_bounds("year", local_today(tenant))
        for who in (admin, manager):
            scope = ReportScope.of(who, preset="year", start=start, end=end)
            timings = {}
            for name, compute in (("facts", funnel), ("history", funnel_from_history)):
                compute(scope)  # warm
                with CaptureQueriesContext(connection) as queries:
                    t0 = time.monotonic()
                    result = compute(scope)
                    timings[name] = (time.monotonic() - t0, len(queries), result)
            same = timings["facts"][2].stages == timings["history"][2].stages
            self.stdout.write(
                f"{who.email:32} funnel from facts {timings['facts'][0] * 1000:6.0f} ms ({timings['facts'][1]} queries)"
                f", from the raw history {timings['history'][0] * 1000:6.0f} ms ({timings['history'][1]} queries); "
                f"cohort {timings['facts'][2].cohort:,}; same figures: {same}"
            )
            self.compare_forecast(who, scope)
            sql, params = cohort(scope, pipeline).order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                t0 = time.monotonic()
                cursor.execute(
                    f"""SELECT count(*), max(sc.at) FROM sales_stagechange sc
                        WHERE sc.tenant_id = %s AND sc.opportunity_id IN ({sql})""",  # noqa: S608 - Django's SQL
                    [tenant.pk, *params],
                )
                cursor.fetchone()
                bare = time.monotonic() - t0
            client = Client()
            client.force_login(who)
            rep = User.objects.filter(tenant=tenant, email="rep1@bench-reports.test").first()
            pages = [(name, reverse(name), {"period": "year"}) for name in DASHBOARDS]
            if rep is not None:
                pages.append(("reports:rep", reverse("reports:rep", args=[rep.pk]), {}))
            pages.append(("home", reverse("home"), {}))
            for name, url, params in pages:
                client.get(url, params)  # warm the caches of this process
                with CaptureQueriesContext(connection) as queries:
                    t0 = time.monotonic()
                    response = client.get(url, params)
                    elapsed = time.monotonic() - t0
                main = max((float(q["time"]) for q in queries.captured_queries), default=0.0)
                self.stdout.write(
                    f"{who.email:32} {name:18} {elapsed * 1000:8.0f} ms  {len(queries):3} queries  "
                    f"main query {main * 1000:5.0f} ms  load {os.getloadavg()[0]:.1f}  "
                    f"(status {response.status_code}; bare SQL over the funnel's cohort and its history: "
                    f"{bare * 1000:.0f} ms)"
                )
                slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
                for query in slowest:
                    self.stdout.write(f"    {float(query['time']) * 1000:7.0f} ms  {query['sql'][:150]}")

    def compare_forecast(self, who, scope):
        """The forecast from its monthly sums beside the same forecast computed live: time, queries, same figures."""
        timings = {}
        for name, compute in (("sums", forecast), ("live", forecast_live)):
            compute(scope)  # warm
            with CaptureQueriesContext(connection) as queries:
                t0 = time.monotonic()
                result = compute(scope)
                timings[name] = (time.monotonic() - t0, len(queries), result)
        figures = [dataclasses.asdict(timings[name][2]) for name in ("sums", "live")]
        for values in figures:
            values.pop("facts_as_of")
            values.pop("rebuilding_since")
        self.stdout.write(
            f"{who.email:32} forecast from sums {timings['sums'][0] * 1000:6.0f} ms ({timings['sums'][1]} queries), "
            f"computed live {timings['live'][0] * 1000:6.0f} ms ({timings['live'][1]} queries); "
            f"open deals {timings['sums'][2].total().open_count:,}; same figures: {figures[0] == figures[1]}"
        )
