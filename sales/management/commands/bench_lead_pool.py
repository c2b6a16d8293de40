"""Benchmark the lead fall-back job: one tenant with N owned leads in one lead pool, a share of them due.

Seeds set-based (one INSERT … SELECT over generate_series) into a tenant of its own (slug "bench-lead-pool"), runs
the job, and prints its time beside the time of the bare SQL it rests on. Run it against a scratch database, e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python manage.py bench_lead_pool
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from crm.models import Role, Team, Tenant, User
from crm.services.tenant import tenant_create
from sales.models import LeadOwnershipEvent, LeadPool, LeadPoolRule, LeadPoolTeam
from sales.selectors.lead_pool import lead_fallback_due
from sales.services.lead_fallback import lead_fallback_run


class Command(BaseCommand):
    help = "Time the lead fall-back job over many owned leads, beside its bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=300_000)
        parser.add_argument("--due", type=int, default=30_000)
        parser.add_argument("--reps", type=int, default=200)

    def handle(self, *args, leads, due, reps, **opts):
        Tenant.objects.filter(slug="bench-lead-pool").delete()
        tenant = tenant_create(
            name="Bench leads",
            slug="bench-lead-pool",
            admin_email="admin@bench-lead-pool.test",
            admin_password=None,
            language="en",
        )
        team = Team.objects.get(tenant=tenant, parent=None)
        people = User.objects.bulk_create(
            [
                User(
                    tenant=tenant,
                    email=f"rep{i}@bench-lead-pool.test",
                    full_name=f"Rep {i}",
                    roles=[Role.REP],
                    team=team,
                )
                for i in range(reps)
            ]
        )
        pool = LeadPool.objects.create(
            tenant=tenant, name="Bench pool", is_default=True, no_followup_days=14, no_conversion_days=180
        )
        LeadPoolTeam.objects.create(tenant=tenant, pool=pool, team=team)
        LeadPoolRule.objects.create(tenant=tenant, pool=pool, source="展会", no_followup_days=30)
        now = timezone.now()
        started = time.monotonic()
        first_rep = min(u.pk for u in people)
        with connection.cursor() as cursor:
            # Leads i < due were last followed up 20 days ago (past the 14 days; 展会 ones under their 30 days are
            # every tenth, so slightly fewer than `due` fall back); the others 3 days ago.
            cursor.execute(
                """
                INSERT INTO sales_lead
                    (tenant_id, created_at, updated_at, name, company, company_key, title, phone, email, wechat,
                     region, industry, message, source, campaign, origin, status, disqualified_reason, owner_id,
                     score, score_rules, is_duplicate, duplicate_kind, consent_text, pool_id, owned_since,
                     last_followed_up_at, extension_days)
                SELECT %s, %s - interval '60 days', %s, 'Bench lead ' || i, '', '', '', '', '', 'wx' || i,
                       '', '', '', CASE WHEN i %% 10 = 0 THEN '展会' ELSE '官网' END, '', 'manual', 'contacted', '',
                       %s + (i %% %s), 0, '{}', false, '', '', %s, %s - interval '60 days',
                       %s - CASE WHEN i < %s THEN interval '20 days' ELSE interval '3 days' END, 0
                FROM generate_series(0, %s - 1) AS i
                """,
                [tenant.pk, now, now, first_rep, reps, pool.pk, now, now, due, leads],
            )
            cursor.execute("ANALYZE sales_lead")
        self.stdout.write(f"seeded {leads:,} owned leads in {time.monotonic() - started:.1f}s")

        sql, params = lead_fallback_due(pool, now=now).values("pk").query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            t0 = time.monotonic()
            cursor.execute(f"SELECT count(*) FROM ({sql}) d", params)  # noqa: S608 - Django's compiled SQL
            count = cursor.fetchone()[0]
            select_time = time.monotonic() - t0
            t0 = time.monotonic()
            cursor.execute(
                f"UPDATE sales_lead SET owner_id = NULL WHERE id IN ({sql}) AND owner_id IS NOT NULL",  # noqa: S608
                params,
            )
            update_time = time.monotonic() - t0
            transaction.set_rollback(True)
        self.stdout.write(f"the predicate's SQL: {sql % tuple(repr(p) for p in params)}")
        self.stdout.write(
            f"bare SQL: predicate SELECT {select_time * 1000:.0f} ms ({count:,} rows), bare UPDATE {update_time * 1000:.0f} ms"
        )
        t0 = time.monotonic()
        moved = lead_fallback_run(tenant=tenant, now=now)
        job_time = time.monotonic() - t0
        events = LeadOwnershipEvent.objects.filter(tenant=tenant, reason="fallback").count()
        self.stdout.write(
            self.style.SUCCESS(
                f"lead_fallback_run: {moved:,} leads moved, {events:,} events, in {job_time * 1000:.0f} ms"
            )
        )
        t0 = time.monotonic()
        again = lead_fallback_run(tenant=tenant, now=now)
        self.stdout.write(f"second run (idempotent): {again} moved in {(time.monotonic() - t0) * 1000:.0f} ms")
