"""Measure the customer import and the reminders job of `make bench` (DESIGN.md §8) in a tenant of their own.

The import: a generated spreadsheet of --rows customers (100,000 by default) as Chinese sales teams export them —
company and contact names in Chinese, levels by code, name or alias, phones written every which way (dashes,
spaces, +86 / 86 prefixes, full-width digits, landlines with an area code), emails, WeChat ids, birthdays, a
custom field; a few rows invalid (no name, an impossible phone, a malformed email, a birthday in the future), some
repeating an earlier row of the file in another spelling, some repeating a customer the tenant already holds — is
written as CSV and as XLSX and run through the real path of a web upload: `import_upload`, `import_map`, the
worker's check task and, after `import_start`, the worker's commit task (`crm.imports.tasks`), on a connection
switched to the app role (row-level security applies, as in production). Each run's job is rolled back, so the
tenant keeps only the customers it was seeded with (--existing, imported once by the same path and reused by the
next run). Printed per format: the rows per second of the commit and of the check, and where the commit's time
goes — reading the file, the per-cell rules (validation and normalisation), duplicate detection (against the
database and the earlier rows), writing, and the deferred foreign-key checks that the commit runs — then its
statements by kind and table, the slowest first (count and time), so a profile says which statements cost.

The reminders: --reminders tasks due at once (1,000 by default), sent by `reminders_send_due` in a transaction that
is rolled back, beside the EXPLAIN ANALYZE time of their due predicate.

Both add jobs (role "job") to bench/results.json, replacing rows of the same name and keeping the others, so
bench_pages and this command merge rather than overwrite each other.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_import_bench python manage.py bench_import [--rows 100000]
"""

from __future__ import annotations

import contextlib
import cProfile
import csv
import datetime as dt
import io
import json
import os
import pstats
import random
import re
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from openpyxl import Workbook

from crm.api.models import CustomField
from crm.imports import services as import_services
from crm.imports import tasks as import_tasks
from crm.imports.models import ImportJob
from crm.models import Role, Tenant, User
from crm.services.tenant import tenant_create
from crm.tenancy import tenant_context
from customers.imports.customer import POOL, CustomerKind
from customers.models import Customer
from sales.models import Task
from sales.services.reminder import reminders_send_due

from .bench_pages import Command as PagesCommand
from .bench_pages import results_merge
from .bench_seed import BRAND_CHARS, CITIES, GIVEN, SURNAMES, TRADES

SLUG = "bench-import"
PHASES = ("parse", "rules", "duplicates", "write", "deferred checks")
HEADERS = [
    "客户名称",
    "客户级别",
    "行业",
    "地区",
    "来源",
    "联系人",
    "职务",
    "手机",
    "座机",
    "邮箱",
    "微信",
    "生日",
    "合同编号",
    "备注",
]
LEVELS = ["A", "B", "C", "重点客户", "普通客户", "a", "Ｂ"]
INDUSTRIES = ["制造业", "零售", "教育", "医疗", "物流", "互联网", "金融", "房地产"]
REGIONS = ["浙江省", "上海市", "北京市", "广东省", "江苏省", "四川省", "湖北省", "山东省"]
SOURCES = ["百度推广", "展会", "老客户介绍", "电话营销", "官网", "抖音"]
TITLES = ["总经理", "采购经理", "财务", "技术总监", "行政主管", "销售经理", ""]
MOBILE_PREFIXES = ["138", "139", "137", "135", "150", "151", "158", "186", "187", "188", "131", "132", "155", "176"]
AREA_CODES = ["010", "021", "020", "0571", "0755", "025", "028", "027"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司"]


def messy_mobile(digits: str, rng: random.Random) -> str:
    """A mobile as people type it: 138-1234-5678, +86 138 1234 5678, 8613812345678, full-width digits…"""
    style = rng.randrange(8)
    if style == 0:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 1:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"86{digits}"
    if style == 3:
        return digits.translate(FULL_WIDTH)
    if style == 4:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 5:
        return f"+86-{digits}"
    return digits


def other_spelling(name: str, rng: random.Random) -> str:
    """The same company written again: another legal form, a trailing space, full-width brackets, Co., Ltd."""
    base = name
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        base = base.removesuffix(suffix)
    return rng.choice([f"{base}有限公司 ", f" {base}", f"{base}（有限公司）", f"{base} Co., Ltd.", f"{base}公司"])


class FileMaker:
    """Deterministic rows (a seeded generator), company names unique by construction (index → words)."""

    def __init__(self, seed: int, offset: int):
        self.rng = random.Random(seed)
        chars = list(dict.fromkeys(BRAND_CHARS))
        self.brands = [a + b for a in chars for b in chars if a != b]
        self.offset = offset

    def company(self, i: int) -> str:
        n = self.offset + i
        city = CITIES[n % len(CITIES)]
        trade = TRADES[(n // len(CITIES)) % len(TRADES)]
        brand = self.brands[(n // (len(CITIES) * len(TRADES))) % len(self.brands)]
        return f"{city}{brand}{trade}{SUFFIXES[n % len(SUFFIXES)]}"

    def mobile(self, i: int) -> str:
        n = self.offset + i
        return f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{(n * 7919) % 100_000_000:08d}"

    def rows(self, count: int, existing: list[list[str]] | None = None) -> list[list[str]]:
        rng = self.rng
        rows: list[list[str]] = []
        today = dt.date.today()
        for i in range(count):
            person = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            mobile = self.mobile(i)
            row = [
                self.company(i),
                rng.choice(LEVELS) if rng.random() < 0.8 else "",
                rng.choice(INDUSTRIES),
                rng.choice(REGIONS),
                rng.choice(SOURCES),
                person,
                rng.choice(TITLES),
                messy_mobile(mobile, rng),
                f"{rng.choice(AREA_CODES)}-{rng.randrange(20_000_000, 89_999_999)}" if rng.random() < 0.15 else "",
                f"u{self.offset + i}@example.com" if rng.random() < 0.7 else "",
                f"wx{self.offset + i}" if rng.random() < 0.4 else "",
                (today - dt.timedelta(days=rng.randrange(20 * 365, 60 * 365))).isoformat()
                if rng.random() < 0.3
                else "",
                f"HT-{self.offset + i}" if rng.random() < 0.5 else "",
                "老客户" if rng.random() < 0.1 else "",
            ]
            roll = rng.random()
            if roll < 0.003:
                row[0] = ""  # no name
            elif roll < 0.006:
                row[7] = "12345"  # an impossible phone
            elif roll < 0.008:
                row[9] = "zhang@@example"  # a malformed email
            elif roll < 0.009:
                row[11] = (today + dt.timedelta(days=30)).isoformat()  # born in the future
            elif roll < 0.04 and rows:
                # The same company again in this file, in another spelling (or its mobile, written otherwise).
                earlier = rows[rng.randrange(len(rows))]
                if rng.random() < 0.5:
                    row[0] = other_spelling(earlier[0], rng)
                else:
                    row[7] = messy_mobile(earlier[7].translate({ord(c): None for c in " -+"})[-11:], rng)
            elif roll < 0.09 and existing:
                # A customer the tenant already holds.
                held = existing[rng.randrange(len(existing))]
                row[0] = other_spelling(held[0], rng) if rng.random() < 0.6 else held[0]
            rows.append(row)
        return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class PhaseTimer:
    """Wall time spent in the import's phases, by wrapping the kind's methods and the file's row iterator."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._patches: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attribute: str, phase: str) -> None:
        original = getattr(owner, attribute)
        seconds = self.seconds

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[phase] += time.perf_counter() - t0

        self._patches.append((owner, attribute, original))
        setattr(owner, attribute, timed)

    def wrap_sheet(self) -> None:
        original = import_services.job_sheet
        seconds = self.seconds

        def timed_rows(rows):
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(rows)
                except StopIteration:
                    seconds["parse"] += time.perf_counter() - t0
                    return
                seconds["parse"] += time.perf_counter() - t0
                yield item

        def job_sheet(job):
            t0 = time.perf_counter()
            sheet = original(job)
            seconds["parse"] += time.perf_counter() - t0
            sheet.rows = timed_rows(sheet.rows)
            return sheet

        self._patches.append((import_services, "job_sheet", original))
        import_services.job_sheet = job_sheet

    def reset(self) -> None:
        self.seconds.clear()

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._patches):
            setattr(owner, attribute, original)
        self._patches.clear()


# A statement's verb and first table, after the tenant context the connection sends before it (crm.tenancy).
_STATEMENT = re.compile(
    r"^(?:SELECT set_config\([^;]*\); )?\s*(WITH|SELECT|INSERT INTO|UPDATE|DELETE FROM|COPY|CREATE TEMPORARY TABLE|[A-Z]+)"
    r"\s*\(?\s*\"?(\w*)"
)


_FROM = re.compile(r"\bFROM\s+\"?(\w+)")


class QueryCounter:
    """Counts the statements of a connection and their time (an execute wrapper: no log to fill or cap), in all and
    per kind of statement (its verb and first table), so a profile says which statements the time goes to."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.by_kind: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - t0
            self.count += 1
            self.seconds += elapsed
            match = _STATEMENT.match(sql)
            name = " ".join(match.groups()) if match else sql[:30]
            if match and match[1] in ("SELECT", "WITH"):
                table = _FROM.search(sql, match.end())
                name = f"{match[1]} … FROM {table[1] if table else '?'}"
            kind = self.by_kind[name]
            kind[0] += 1
            kind[1] += elapsed

    def snapshot(self) -> dict[str, tuple[int, float]]:
        return {kind: (count, seconds) for kind, (count, seconds) in self.by_kind.items()}

    def since(self, snapshot: dict[str, tuple[int, float]]) -> list[tuple[str, int, float]]:
        """The statements since `snapshot` by kind, the slowest first."""
        rows = []
        for kind, (count, seconds) in self.by_kind.items():
            before = snapshot.get(kind, (0, 0.0))
            if count > before[0]:
                rows.append((kind, count - before[0], seconds - before[1]))
        return sorted(rows, key=lambda row: -row[2])


class Command(BaseCommand):
    help = "Time a 100,000-row customer import (CSV and XLSX) and 1,000 due reminders; add them to bench/results.json."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--existing", type=int, default=10_000, help="customers the tenant holds beforehand")
        parser.add_argument("--formats", default="csv,xlsx")
        parser.add_argument("--reminders", type=int, default=1000)
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "bench" / "results.json"))
        parser.add_argument("--profile", default="", help="write a cProfile of the commit of the first format here")

    def handle(self, *args, rows, existing, formats, reminders, output, profile, **opts):
        self.path = Path(output)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(
            f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        tenant, admin = self._tenant(existing)
        held = FileMaker(seed=1, offset=0).rows(existing)
        maker = FileMaker(seed=2, offset=existing)
        data_rows = maker.rows(rows, existing=held)
        results = []
        connection.ensure_connection()
        pages = PagesCommand()
        pages._as_app_role(True)
        try:
            for index, fmt in enumerate(f for f in formats.split(",") if f):
                t0 = time.perf_counter()
                data = {"csv": csv_bytes, "xlsx": xlsx_bytes}[fmt](data_rows)
                self.stdout.write(
                    f"{fmt}: {rows:,} rows, {len(data) / 1e6:.1f} MB written in {time.perf_counter() - t0:.1f}s"
                )
                results += self._import(tenant, admin, fmt, data, profile if index == 0 else "")
            if reminders:
                results.append(self._reminders(tenant, admin, reminders))
        finally:
            pages._as_app_role(False)
        results_merge(self.path, results)
        self.stdout.write(f"\nadded {len(results)} rows to {self.path}")

    # --- the tenant --------------------------------------------------------------------------------------------------

    def _tenant(self, existing: int) -> tuple[Tenant, User]:
        """The bench's tenant with its custom field and the customers it holds before the import (imported once by
        the same path; a second run finds them and reuses them)."""
        tenant = Tenant.objects.filter(slug=SLUG).first()
        marker = f"Bench import {existing}"
        if tenant is not None and tenant.name != marker:
            raise CommandError(f"this database holds the import bench's tenant at another size ({tenant.name})")
        if tenant is None:
            tenant = tenant_create(
                name=marker, slug=SLUG, admin_email=f"admin@{SLUG}.test", admin_password=None, language="zh-hans"
            )
        with tenant_context(tenant.pk):
            admin = User.objects.get(tenant=tenant, roles__contains=[Role.ADMIN], email=f"admin@{SLUG}.test")
            CustomField.objects.get_or_create(
                tenant=tenant,
                kind=CustomField.Kind.CUSTOMER,
                key="contract_no",
                defaults={"label": "合同编号", "type": CustomField.Type.TEXT},
            )
            held = Customer.objects.filter(tenant=tenant).count()
        if not held and existing:
            t0 = time.perf_counter()
            data = csv_bytes(FileMaker(seed=1, offset=0).rows(existing))
            with tenant_context(tenant.pk):
                job = self._run(tenant, admin, "existing.csv", data)
            self.stdout.write(
                f"seeded {job.created_count:,} existing customers in {time.perf_counter() - t0:.1f}s (status {job.status})"
            )
        return tenant, admin

    def _run(self, tenant: Tenant, admin: User, name: str, data: bytes, timer: PhaseTimer | None = None, **figures):
        """Upload, map, check (the worker's task), start and commit (the worker's task), as the web flow does for a
        large file (any file, here: the inline limit is set to none)."""
        with override_settings(IMPORT_INLINE_MAX_ROWS=0):
            return self._run_large(tenant, admin, name, data, timer, **figures)

    def _run_large(self, tenant, admin, name, data, timer, **figures):
        job = import_services.import_upload(
            acting_user=admin, kind=CustomerKind, uploaded=SimpleUploadedFile(name, data), destination=POOL
        )
        job = import_services.import_map(acting_user=admin, job=job, columns=job.mapping)
        t0 = time.perf_counter()
        if job.status == ImportJob.Status.CHECKING:
            import_tasks.check_import(tenant.pk, job.pk, job.check_token)
        figures["check"] = time.perf_counter() - t0
        job.refresh_from_db()
        job = import_services.import_start(acting_user=admin, job=job)
        if timer is not None:
            timer.reset()
        profiler = figures.pop("profiler", None)
        counter = figures.pop("counter", None)
        if counter is not None:
            figures["queries_before"] = (counter.count, counter.seconds)
            figures["statements_before"] = counter.snapshot()
        t0 = time.perf_counter()
        if job.status == ImportJob.Status.QUEUED:
            with profiler or contextlib.nullcontext():
                import_tasks.run_import(tenant.pk, job.pk)
        figures["commit"] = time.perf_counter() - t0
        job.refresh_from_db()
        job.figures = figures
        return job

    # --- the import --------------------------------------------------------------------------------------------------

    def _import(self, tenant: Tenant, admin: User, fmt: str, data: bytes, profile: str) -> list[dict]:
        label = f"customer import {fmt}"
        timer = PhaseTimer()
        timer.wrap_sheet()
        timer.wrap(CustomerKind, "clean_batch", "rules")
        timer.wrap(CustomerKind, "dedupe", "duplicates")
        timer.wrap(CustomerKind, "create", "write")
        profiler = cProfile.Profile() if profile else None
        counter = QueryCounter()
        try:
            with tenant_context(tenant.pk), transaction.atomic(), connection.execute_wrapper(counter):
                job = self._run(tenant, admin, f"bench.{fmt}", data, timer, profiler=profiler, counter=counter)
                # The foreign keys are checked when the import's transaction commits (they are deferred): checked
                # here, as the commit would, before the bench's transaction is rolled back.
                t0 = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                timer.seconds["deferred checks"] = time.perf_counter() - t0
                transaction.set_rollback(True)
        finally:
            timer.restore()
        if job.status != ImportJob.Status.DONE:
            raise CommandError(f"{label}: the import ended {job.status}: {job.error}")
        if profiler is not None:
            profiler.dump_stats(profile)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        rows = job.total_rows
        commit, check = job.figures["commit"] + timer.seconds["deferred checks"], job.figures["check"]
        # The commit's statements: those after the check's.
        queries = counter.count - job.figures["queries_before"][0]
        sql_ms = (counter.seconds - job.figures["queries_before"][1]) * 1000
        self.stdout.write(
            f"{label}: {rows:,} rows, {job.created_count:,} created, {job.rejected_count:,} rejected "
            f"({job.summary.get('committed', {})})\n"
            f"  check  {check:7.1f}s  {rows / check:8,.0f} rows/s\n"
            f"  commit {commit:7.1f}s  {rows / commit:8,.0f} rows/s  "
            + "  ".join(f"{phase} {timer.seconds.get(phase, 0):.1f}s" for phase in PHASES)
            + f"  (SQL {sql_ms / 1000:.1f}s in {queries:,} queries)"
        )
        for kind, count, seconds in counter.since(job.figures["statements_before"])[:8]:
            self.stdout.write(f"    {seconds:6.1f}s  {count:6,}  {kind}")
        results = [
            {
                "name": f"{label}, commit",
                "role": "job",
                "ms": round(commit * 1000, 1),
                "sql_ms": round(sql_ms, 1),
                "queries": queries,
                "rows_per_s": round(rows / commit),
            },
            {
                "name": f"{label}, check",
                "role": "job",
                "ms": round(check * 1000, 1),
                "sql_ms": 0.0,
                "queries": 0,
                "rows_per_s": round(rows / check),
            },
        ]
        for phase in PHASES:
            results.append(
                {
                    "name": f"{label}, commit: {phase}",
                    "role": "job",
                    "ms": round(timer.seconds.get(phase, 0) * 1000, 1),
                    "sql_ms": 0.0,
                    "queries": 0,
                }
            )
        return results

    # --- the reminders -----------------------------------------------------------------------------------------------

    def _reminders(self, tenant: Tenant, admin: User, count: int) -> dict:
        now = timezone.now()
        with tenant_context(tenant.pk), transaction.atomic():
            customers = list(Customer.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)[:count])
            Task.objects.bulk_create(
                [
                    Task(
                        tenant=tenant,
                        title=f"回访 {i}",
                        assignee=admin,
                        customer_id=customers[i % len(customers)] if customers else None,
                        due_at=now + dt.timedelta(hours=1),
                        remind_at=now - dt.timedelta(minutes=i % 60),
                        created_by=admin,
                    )
                    for i in range(count)
                ]
            )
            due = Task.objects.filter(tenant=tenant).pending_reminders(now).order_by().values("pk")
            sql, params = due.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)  # noqa: S608 - our own SQL
                plan = cursor.fetchone()[0]
            sql_ms = float((json.loads(plan) if isinstance(plan, str) else plan)[0]["Execution Time"])
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                t0 = time.perf_counter()
                sent = reminders_send_due(tenant_id=tenant.pk, now=now)
                ms = (time.perf_counter() - t0) * 1000
            transaction.set_rollback(True)
        if sent != count:
            raise CommandError(f"reminders: {sent} sent of {count} due")
        self.stdout.write(f"reminders: {sent:,} sent in {ms:,.0f} ms, {counter.count} queries (rolled back)")
        return {
            "name": f"reminders, {count:,} due",
            "role": "job",
            "ms": round(ms, 1),
            "sql_ms": round(sql_ms, 1),
            "queries": counter.count,
        }
