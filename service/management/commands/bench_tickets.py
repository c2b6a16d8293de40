"""Benchmark the service desk at scale: the ticket list (server time, queries, its main query's time) in each of its
views, statuses and sorts, and the escalation job, over N tickets (`--tickets`, e.g. 100000) of which
`--open-percent` are unsolved (1 % of those due for escalation). Works in a transaction it rolls back, so it leaves
nothing behind; run it against a scratch database (see `make bench`). `--explain` prints each page query's plan."""

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
from service.services.escalation import BATCH, _due, escalations_run


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the ticket list and the escalation job over many tickets."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000, help="how many tickets (the size)")
        parser.add_argument("--open-percent", type=int, default=100, help="the share of them not yet solved")
        parser.add_argument("--explain", action="store_true", help="print the plan of each list's page query")

    def handle(self, *args, tickets, open_percent, explain, **opts):
        self.open_percent, self.explain = max(0, min(100, open_percent)), explain
        try:
            with transaction.atomic():
                self._run(tickets)
                raise Rollback
        except Rollback:
            pass

    def _page(self, client, params: dict) -> tuple[float, int, str]:
        """The median server time of the list with `params` (3 runs), its query count and its page query."""
        times, queries, page_sql = [], 0, ""
        for _ in range(3):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get("/tickets/", params)
                times.append(time.perf_counter() - began)
            assert response.status_code == 200
            queries = len(captured.captured_queries)
            pages = [
                q["sql"] for q in captured.captured_queries if "LIMIT 50" in q["sql"] and "service_ticket" in q["sql"]
            ]
            page_sql = max(pages, key=len) if pages else ""
        return statistics.median(times), queries, page_sql

    def _scenarios(self, client, agent) -> None:
        """Every view, status and sort of the list as an admin (all tickets) and an agent (their own)."""
        self.stdout.write("ticket list by view, status and sort (ms server time, queries, page query plan):")
        agent_client = Client()
        agent_client.force_login(agent)
        cases = [
            (client, {"view": "all", "sort": sort, "status": status})
            for status in ("open", "any", "closed")
            for sort in ("due", "-created", "created", "-updated")
        ]
        cases += [
            (client, {"view": "breaching"}),
            (client, {"view": "unassigned"}),
            (client, {"view": "all", "priority": "high"}),
            (client, {"view": "all", "q": "问题 4242"}),
            (client, {"view": "all", "q": "T-004242"}),
            (agent_client, {"view": "mine", "sort": "due"}),
            (agent_client, {"view": "mine", "sort": "-created", "status": "any"}),
            (agent_client, {"view": "team", "sort": "due"}),
        ]
        for who, params in cases:
            took, queries, sql = self._page(who, params)
            bare, plan = self._query(sql)
            label = " ".join(f"{k}={v}" for k, v in params.items())
            self.stdout.write(
                f"  {label:<44} {took * 1000:7.1f} ms {queries:3d} q  page query {bare * 1000:7.1f} ms  {plan}"
            )

    def _query(self, sql: str) -> tuple[float, str]:
        """The median time of a captured query run alone (3 runs), and its plan's scans and sorts (or all of it)."""
        if not sql:
            return 0.0, ""
        # The captured text starts with the tenant context the database backend sends with every statement.
        if sql.startswith("SELECT set_config("):
            sql = sql.split("; ", 1)[1]
        times = []
        with connection.cursor() as cursor:
            for _ in range(3):
                began = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                times.append(time.perf_counter() - began)
            cursor.execute("EXPLAIN " + sql)
            lines = [str(row[0]) for row in cursor.fetchall()]
        if self.explain:
            return statistics.median(times), "\n    " + "\n    ".join(lines)
        steps = [line.strip().removeprefix("-> ") for line in lines if "Scan" in line or "Sort" in line]
        return statistics.median(times), " / ".join(step.split("  (")[0] for step in steps)[:150]

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
            solved = rng.randrange(100) >= self.open_percent
            escalate = now - timedelta(minutes=1) if i % 100 == 0 else now + timedelta(days=30)
            created = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
            rows.append(
                Ticket(
                    tenant=tenant,
                    number=i + 1,
                    reply_token=secrets.token_hex(12),
                    subject=f"问题 {i}",
                    customer=customers[i % len(customers)],
                    assignee=agents[i % len(agents)],
                    team=team,
                    priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                    status=rng.choice(["resolved", "closed"]) if solved else rng.choice(["new", "open", "pending"]),
                    created_at=created,
                    sla_policy=policy,
                    first_response_minutes=60,
                    resolution_minutes=480,
                    sla_since=now - timedelta(hours=rng.randrange(1, 72)),
                    first_responded_at=now,
                    resolution_due_at=due,
                    due_at=due,
                    at_risk_at=due - timedelta(minutes=96),
                    next_escalation_at=None if solved else escalate,
                    resolved_at=now if solved else None,
                )
            )
        began = time.perf_counter()
        Ticket.objects.bulk_create(rows, batch_size=5000)
        seeded = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE service_ticket")
        self.stdout.write(f"{n} tickets ({self.open_percent} % unsolved) seeded in {seeded:.1f} s")

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
        self._scenarios(client, agents[0])

        due = _due(tenant.pk, now).order_by("pk").values_list("pk", flat=True)[:BATCH]
        with CaptureQueriesContext(connection) as captured:
            list(due)
        bare, plan = self._query(captured.captured_queries[-1]["sql"])
        self.stdout.write(f"the escalation job's query for due tickets: {bare * 1000:7.1f} ms  {plan}")
        began = time.perf_counter()
        taken = escalations_run(tenant_id=tenant.pk, now=now)
        job = time.perf_counter() - began
        self.stdout.write(f"escalation job over {n} tickets: {job * 1000:8.1f} ms, {taken} steps taken")
        began = time.perf_counter()
        again = escalations_run(tenant_id=tenant.pk, now=now)
        rerun = time.perf_counter() - began
        self.stdout.write(f"the same job run again: {rerun * 1000:8.1f} ms, {again} steps taken")
