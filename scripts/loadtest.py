"""Load test through the real stack: gunicorn (several workers) → PgBouncer (transaction mode) → PostgreSQL.

    make loadtest                       # 50 users, 60 s, on the scratch database crm_load
    .venv/bin/python scripts/loadtest.py --users 50 --seconds 60 --workers 4

Run on a scratch database (LOADTEST_DB, default postgres://postgres@127.0.0.1:5432/crm_load), migrated by the
Makefile target; each run adds a company of its own (50 reps in 5 teams, 20 customers each, a pool of 400 customers
that every team sees, a cap of 25 customers a rep and 8 claims a day), so runs never depend on each other.

The simulated users are threads with their own session (made in the database: logging in is not what is
measured, and 50 password hashes would dominate a minute); each loops for the duration over a weighted mix of
actions — the customer list, a search, a customer's 360° page, logging a follow-up, claiming a random pool
customer (so reps race for the same ones) — and records each answer's time. An error is a refused connection, a
5xx, or an answer other than the action's own (a claim that loses the race or meets a cap answers with the pool
and a message: that is a refusal, not an error).

After the run, SQL on the owner's connection checks what the answers cannot prove: no customer claimed twice,
every claim the clients saw succeed is one ownership event, no rep above the cap or the daily claims, every
follow-up the clients logged is one row. Prints p50/p95 per action and writes var/loadtest/results.json; exits 1
when any check fails. See docs/scaling.md (Load test).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import pgbouncer  # noqa: E402

VAR = ROOT / "var" / "loadtest"
DB_URL = os.environ.get("LOADTEST_DB", "postgres://postgres@127.0.0.1:5432/crm_load")
MIX = {"list": 30, "search": 20, "360": 25, "followup": 15, "claim": 10}
CAP, DAILY_CLAIMS, POOL_SIZE, OWNED = 25, 8, 400, 20
SEARCHES = ["杭州", "上海", "zs", "贸易", "138"]


def django_setup() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    os.environ["DATABASE_ROLE"] = "owner"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The sessions made here are signed with the key gunicorn uses.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()


def seed(users: int) -> dict:
    """A new company for this run: reps, their customers, the shared pool, sessions. Returns what the clients need."""
    from importlib import import_module

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from crm.models import Role, Team, User
    from crm.services.tenant import tenant_create
    from customers.models import Contact, Customer, PoolTeam
    from customers.services.tenant import default_pool

    slug = f"load{int(time.time())}"
    with transaction.atomic():
        tenant = tenant_create(
            name=f"压测公司 {slug}",
            slug=slug,
            admin_email=f"admin@{slug}.test",
            admin_password=None,
            admin_name="管理员",
        )
        tenant.max_customers_per_rep = CAP
        tenant.save(update_fields=["max_customers_per_rep"])
        root = Team.objects.create(tenant=tenant, name="压测销售部")
        teams = [Team.objects.create(tenant=tenant, name=f"销售{i + 1}组", parent=root) for i in range(5)]
        reps = []
        for i in range(users):
            rep = User(
                tenant=tenant,
                email=f"rep{i}@{slug}.test",
                full_name=f"销售{i:02d}",
                roles=[Role.REP],
                team=teams[i % len(teams)],
                language="zh-hans",
            )
            rep.set_unusable_password()
            reps.append(rep)
        reps = User.objects.bulk_create(reps)
        pool = default_pool(tenant)
        pool.max_claims_per_day = DAILY_CLAIMS
        pool.save(update_fields=["max_claims_per_day"])
        PoolTeam.objects.get_or_create(tenant=tenant, pool=pool, team=root)
        cities = ["杭州", "上海", "北京", "深圳", "成都"]
        now = timezone.now()
        pooled = Customer.objects.bulk_create(
            Customer(tenant=tenant, pool=pool, name=f"{cities[i % 5]}{i:04d}贸易有限公司", created_at=now)
            for i in range(POOL_SIZE)
        )
        owned = Customer.objects.bulk_create(
            Customer(
                tenant=tenant,
                pool=pool,
                owner=rep,
                name=f"{cities[j % 5]}{r:02d}{j:02d}科技有限公司",
                last_followed_up_at=now - timedelta(days=j),
                created_at=now - timedelta(hours=j),
            )
            for r, rep in enumerate(reps)
            for j in range(OWNED)
        )
        Contact.objects.bulk_create(
            Contact(tenant=tenant, customer=c, name="张三", is_primary=True, mobile=f"+86138{c.pk % 10**8:08d}")
            for c in owned
        )
    store = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for rep in reps:
        session = store()
        session["_auth_user_id"] = str(rep.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = rep.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    return {
        "tenant_id": tenant.pk,
        "slug": slug,
        "users": [
            {"id": rep.pk, "session": key, "own": [c.pk for c in owned if c.owner_id == rep.pk]}
            for rep, key in zip(reps, sessions, strict=True)
        ],
        "pool": [c.pk for c in pooled],
        "started": timezone.now().isoformat(),
    }


class Client:
    """One simulated user: its session and CSRF cookies; never follows redirects. A new connection a request, as
    gunicorn sees the requests a proxy in front of it passes on (a keep-alive connection would tie the user to one
    worker's threads and queue it there while other workers idle)."""

    def __init__(self, port: int, session: str):
        self.port = port
        self.csrf = secrets.token_hex(16)  # 32 characters: Django accepts a token the client chose, cookie = header
        self.cookie = f"sessionid={session}; csrftoken={self.csrf}"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, bytes]:
        headers = {"Cookie": self.cookie, "Accept-Language": "zh-hans", "Connection": "close"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.csrf}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Location") or "", response.read()
        finally:
            connection.close()


def run_user(
    port: int,
    user: dict,
    pool: list[int],
    seconds: float,
    start: threading.Barrier,
    results: dict,
    lock: threading.Lock,
) -> None:
    client = Client(port, user["session"])
    # Warm-up, not measured: the first request of this session.
    client.request("GET", "/customers/")
    start.wait()
    until = time.monotonic() + seconds
    own = list(user["own"])
    rng = random.Random(user["id"])
    actions, weights = list(MIX), list(MIX.values())
    local = defaultdict(list)
    counts = defaultdict(int)
    while time.monotonic() < until:
        action = rng.choices(actions, weights)[0]
        started = time.perf_counter()
        outcome = "ok"
        try:
            if action == "list":
                status, _, _ = client.request("GET", "/customers/")
                ok = status == 200
            elif action == "search":
                query = urllib.parse.quote(rng.choice(SEARCHES))
                status, _, _ = client.request("GET", f"/customers/?q={query}")
                ok = status == 200
            elif action == "360":
                status, _, _ = client.request("GET", f"/customers/{rng.choice(own)}/")
                ok = status == 200
            elif action == "followup":
                when = time.strftime("%Y-%m-%dT%H:%M", time.localtime())
                form = {"kind": "call", "outcome": "neutral", "content": "压测：电话回访", "happened_at": when}
                status, location, _ = client.request("POST", f"/followups/customer/{rng.choice(own)}/", form)
                ok = status == 302 and "/customers/" in location
                outcome = "logged" if ok else "error"
            else:
                customer = rng.choice(pool)
                status, location, _ = client.request("POST", f"/pool/{customer}/claim/", {})
                ok = status == 302 and "/login/" not in location
                if ok and location.rstrip("/").endswith(f"/customers/{customer}"):
                    outcome = "claimed"
                    own.append(customer)
                elif ok and "/pool/" in location:
                    outcome = "refused"  # a colleague was faster, or a cap: the pool answers with the reason
                else:
                    ok = False
        except Exception as error:  # noqa: BLE001 — counted and reported as an error
            ok, status = False, repr(error)
        elapsed = (time.perf_counter() - started) * 1000
        local[action].append(elapsed)
        counts[(action, outcome if ok else f"error {status}")] += 1
    with lock:
        for action, times in local.items():
            results["times"][action].extend(times)
        for key, count in counts.items():
            results["counts"][key] += count


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def checks(data: dict, counts: dict) -> dict:
    """What SQL says after the run (as the owner, across the whole company)."""
    from django.db import connection

    tenant = data["tenant_id"]
    queries = {
        "double_owners": """SELECT count(*) FROM (SELECT customer_id FROM customers_ownershipevent
            WHERE tenant_id = %s AND reason = 'claim' GROUP BY customer_id HAVING count(*) > 1) t""",
        "claim_events": "SELECT count(*) FROM customers_ownershipevent WHERE tenant_id = %s AND reason = 'claim'",
        "claimed_owner_mismatch": """SELECT count(*) FROM customers_ownershipevent e JOIN customers_customer c
            ON c.id = e.customer_id WHERE e.tenant_id = %s AND e.reason = 'claim' AND c.owner_id <> e.to_owner_id""",
        "reps_over_cap": """SELECT count(*) FROM (SELECT owner_id FROM customers_customer WHERE tenant_id = %s
            AND owner_id IS NOT NULL AND deleted_at IS NULL GROUP BY owner_id HAVING count(*) > %s) t""",
        "reps_over_daily_claims": """SELECT count(*) FROM (SELECT to_owner_id FROM customers_ownershipevent
            WHERE tenant_id = %s AND reason = 'claim' GROUP BY to_owner_id HAVING count(*) > %s) t""",
        "followups": "SELECT count(*) FROM sales_followup WHERE tenant_id = %s",
    }
    limits = {"reps_over_cap": [CAP], "reps_over_daily_claims": [DAILY_CLAIMS]}
    found = {}
    with connection.cursor() as cursor:
        for name, query in queries.items():
            cursor.execute(query, [tenant, *limits.get(name, [])])
            found[name] = cursor.fetchone()[0]
    found["claims_answered"] = counts.get(("claim", "claimed"), 0)
    found["followups_answered"] = counts.get(("followup", "logged"), 0)
    found["passed"] = (
        found["double_owners"] == 0
        and found["claimed_owner_mismatch"] == 0
        and found["reps_over_cap"] == 0
        and found["reps_over_daily_claims"] == 0
        and found["claim_events"] == found["claims_answered"]
        and found["followups"] == found["followups_answered"]
    )
    return found


def wait_http(port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer {path} on port {port}")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers)")
    parser.add_argument("--pool-size", type=int, default=10, help="PgBouncer's server connections")
    args = parser.parse_args()

    django_setup()
    from django.conf import settings

    data = seed(args.users)
    dbname = settings.DATABASES["default"]["NAME"]
    app_role = settings.DATABASE_APP["USER"]
    VAR.mkdir(parents=True, exist_ok=True)
    bouncer_port, web_port = pgbouncer.free_port(), pgbouncer.free_port()
    config = pgbouncer.write_config(
        VAR / "pgbouncer", port=bouncer_port, dbname=dbname, user=app_role, pool_size=args.pool_size
    )
    environment = {
        **os.environ,
        "DATABASE_ROLE": "app",
        "DATABASE_URL": DB_URL,
        "DATABASE_APP_URL": f"postgres://{app_role}@127.0.0.1:{bouncer_port}/{dbname}",
        "CONN_MAX_AGE": "0",
        "DEBUG": "False",
        "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "crm.wsgi:application",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        f"--bind=127.0.0.1:{web_port}",
        "--log-level=warning",
        "--timeout=120",
        "--preload",  # the application is loaded once, before the workers fork: all of them answer from the start
    ]
    results = {"times": defaultdict(list), "counts": defaultdict(int)}
    with pgbouncer.running(config, bouncer_port):
        web = subprocess.Popen(gunicorn, cwd=ROOT, env=environment)
        try:
            wait_http(web_port, "/healthz/live")
            print(
                f"{args.users} users for {args.seconds:.0f} s: gunicorn {args.workers}×{args.threads} on :{web_port}, "
                f"PgBouncer (transaction, {args.pool_size} server connections) on :{bouncer_port}, company {data['slug']}"
            )
            lock, start = threading.Lock(), threading.Barrier(len(data["users"]))
            threads = [
                threading.Thread(
                    target=run_user, args=(web_port, user, data["pool"], args.seconds, start, results, lock)
                )
                for user in data["users"]
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            web.terminate()
            web.wait(timeout=30)

    counts = dict(results["counts"])
    errors = {f"{a}: {o}": n for (a, o), n in counts.items() if o.startswith("error")}
    found = checks(data, counts)
    table = []
    for action in MIX:
        times = results["times"].get(action, [])
        table.append(
            {
                "action": action,
                "requests": len(times),
                "p50_ms": round(percentile(times, 50), 1),
                "p95_ms": round(percentile(times, 95), 1),
                "outcomes": {o: n for (a, o), n in counts.items() if a == action},
            }
        )
    print(f"\n{'action':10} {'requests':>9} {'p50 ms':>9} {'p95 ms':>9}  outcomes")
    for row in table:
        print(f"{row['action']:10} {row['requests']:>9} {row['p50_ms']:>9} {row['p95_ms']:>9}  {row['outcomes']}")
    total = sum(row["requests"] for row in table)
    print(f"\n{total} requests, {total / args.seconds:.0f}/s; errors: {sum(errors.values())} {errors or ''}")
    print("checks: " + ", ".join(f"{k}={v}" for k, v in found.items()))
    report = {
        "users": args.users,
        "seconds": args.seconds,
        "workers": args.workers,
        "threads": args.threads,
        "pgbouncer_pool_size": args.pool_size,
        "actions": table,
        "errors": errors,
        "checks": found,
    }
    (VAR / "results.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if found["passed"] and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
