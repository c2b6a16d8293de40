"""Benchmark the fallback job (DESIGN.md §8): one tenant with N owned customers of which a share is due.

Seeds with COPY-speed bulk inserts into a tenant of its own (slug "bench-pool"), runs the job, and prints its time
beside the time of the bare SQL it rests on. Run it against a scratch database, e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python manage.py bench_pool
"""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from crm.models import Role, Team, Tenant, User
from crm.services.tenant import tenant_create
from customers.models import Customer, OwnershipEvent
from customers.selectors.pool import fallback_due
from customers.services.fallback import fallback_run
from customers.services.tenant import default_pool


class Command(BaseCommand):
    help = "Time the fallback job over many owned customers, beside its bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--due", type=int, default=20_000)
        parser.add_argument("--reps", type=int, default=200)

    def handle(self, *args, customers, due, reps, **opts):
        Tenant.objects.filter(slug="bench-pool").delete()
        tenant = tenant_create(
            name="Bench", slug="bench-pool", admin_email="admin@bench-pool.test", admin_password=None, language="en"
        )
        team = Team.objects.get(tenant=tenant, parent=None)
        people = User.objects.bulk_create(
            [
                User(tenant=tenant, email=f"rep{i}@bench-pool.test", full_name=f"Rep {i}", roles=[Role.REP], team=team)
                for i in range(reps)
            ]
        )
        pool = default_pool(tenant)
        pool.no_followup_days = 30
        pool.save()
        now = timezone.now()
        started = time.monotonic()
        batch = []
        for i in range(customers):
            stale = i < due
            batch.append(
                Customer(
                    tenant=tenant,
                    name=f"Bench customer {i}",
                    owner=people[i % reps],
                    pool=pool,
                    owned_since=now - timedelta(days=90),
                    last_followed_up_at=now - timedelta(days=45 if stale else 5),
                )
            )
            if len(batch) == 10_000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")
        self.stdout.write(f"seeded {customers:,} owned customers ({due:,} due) in {time.monotonic() - started:.1f}s")

        due_qs = fallback_due(pool, now=now).values("pk")
        sql, params = due_qs.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            t0 = time.monotonic()
            cursor.execute(f"SELECT count(*) FROM ({sql}) d", params)  # noqa: S608 - Django's compiled SQL
            count = cursor.fetchone()[0]
            select_time = time.monotonic() - t0
            t0 = time.monotonic()
            cursor.execute(
                f"UPDATE customers_customer SET owner_id = NULL WHERE id IN ({sql}) AND owner_id IS NOT NULL",  # noqa: S608
                params,
            )
            update_time = time.monotonic() - t0
            transaction.set_rollback(True)
        self.stdout.write(
            f"bare SQL: predicate SELECT {select_time * 1000:.0f} ms ({count:,} rows), bare UPDATE {update_time * 1000:.0f} ms"
        )

        t0 = time.monotonic()
        moved = fallback_run(tenant=tenant, now=now)
        job_time = time.monotonic() - t0
        events = OwnershipEvent.objects.filter(tenant=tenant, reason="fallback").count()
        self.stdout.write(
            self.style.SUCCESS(
                f"fallback_run: {moved:,} customers moved, {events:,} events, in {job_time * 1000:.0f} ms"
            )
        )
        t0 = time.monotonic()
        again = fallback_run(tenant=tenant, now=now)
        self.stdout.write(f"second run (idempotent): {again} moved in {(time.monotonic() - t0) * 1000:.0f} ms")
