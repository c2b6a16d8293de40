"""Benchmark the service desk at scale: the ticket list (server time, queries, its main query's time) and the
escalation job over N open tickets (1 % of them due). Works in a transaction it rolls back, so it leaves nothing
behind; run it against a scratch database (see `make bench`)."""

import random
import secrets
import statistics
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Role, Team, Tenant, User
from customers.models import Customer
from customers.services.tenant import default_pool
from service.models import SlaPolicy, Ticket
from service.services.escalation import escalations_run


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the ticket list and the escalation job over many tickets."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)

    def handle(self, *args, tickets, **opts):
        try:
            with transaction.atomic():
                self._run(tickets)
                raise Rollback
        except Rollback:
            pass

    def _run(self, n: int) -> None:
        tenant = Tenant.objects.create(
            name="Bench service", slug=f"bench-service-{secrets.token_hex(3)}", language="en"
        )
        team = Team.objects.create(tenant=tenant, name="客服部")
        team.path = f"/{team.pk}/"
        team.save(update_fields=["path"])
        admin = User.objects.create_user(
            email=f"admin-{tenant.slug}@bench.test",
            password=None,
            tenant=tenant,
            full_name="管理员",
            roles=[Role.ADMIN],
        )
        agents = [
            User.objects.create_user(
                email=f"agent{i}-{tenant.slug}@bench.test",
                password=None,
                tenant=tenant,
                full_name=f"客服{i}",
                roles=[Role.AGENT],
                team=team,
            )
            for i in range(20)
        ]
        pool = default_pool(tenant)
        customers = Customer.objects.bulk_create(
            Customer(tenant=tenant, name=f"客户{i}", pool=pool, owner=None) for i in range(2000)
        )
        policy = SlaPolicy.objects.create(
            tenant=tenant, priority="normal", first_response_minutes=60, resolution_minutes=480
        )
        rng = random.Random(12)
        now = timezone.now()
        rows = []
        for i in range(n):
            due = now + timedelta(minutes=rng.randrange(-600, 20000))
            escalate = now - timedelta(minutes=1) if i % 100 == 0 else now + timedelta(days=30)
            rows.append(
                Ticket(
                    tenant=tenant,
                    number=i + 1,
                    reply_token=secrets.token_hex(12),
                    subject=f"问题 {i}",
                    customer=customers[i % len(customers)],
                    assignee=agents[i % len(agents)],
                    team=team,
                    priority="normal",
                    status="open",
                    sla_policy=policy,
                    first_response_minutes=60,
                    resolution_minutes=480,
                    sla_since=now - timedelta(hours=rng.randrange(1, 72)),
                    first_responded_at=now,
                    resolution_due_at=due,
                    due_at=due,
                    at_risk_at=due - timedelta(minutes=96),
                    next_escalation_at=escalate,
                )
            )
        began = time.perf_counter()
        Ticket.objects.bulk_create(rows, batch_size=5000)
        seeded = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE service_ticket")
        self.stdout.write(f"{n} open tickets seeded in {seeded:.1f} s")

        client = Client()
        client.force_login(admin)
        client.get("/tickets/")  # warm
        times, queries = [], 0
        for _ in range(5):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get("/tickets/", {"view": "all", "sort": "due"})
                times.append(time.perf_counter() - began)
            assert response.status_code == 200
            queries = len(captured.captured_queries)
            page_sql = max(captured.captured_queries, key=lambda q: len(q["sql"]) if "LIMIT 50" in q["sql"] else 0)
        with connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(page_sql["sql"])
            cursor.fetchall()
            bare = time.perf_counter() - began
        self.stdout.write(
            f"ticket list (50 a page, sorted by due): {statistics.median(times) * 1000:8.1f} ms server time, "
            f"{queries} queries; its page query alone {bare * 1000:.1f} ms"
        )
        with CaptureQueriesContext(connection):
            began = time.perf_counter()
            response = client.get("/tickets/", {"view": "breaching"})
            breaching = time.perf_counter() - began
        self.stdout.write(f"ticket list, breaching soon:           {breaching * 1000:8.1f} ms")

        began = time.perf_counter()
        taken = escalations_run(tenant_id=tenant.pk, now=now)
        job = time.perf_counter() - began
        self.stdout.write(
            f"escalation job over {n} open tickets ({n // 100} due): {job * 1000:8.1f} ms, {taken} steps taken"
        )
        began = time.perf_counter()
        again = escalations_run(tenant_id=tenant.pk, now=now)
        rerun = time.perf_counter() - began
        self.stdout.write(f"the same job run again: {rerun * 1000:8.1f} ms, {again} steps taken")
