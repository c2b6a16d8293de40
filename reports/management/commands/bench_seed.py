"""Seed the data set of `make bench` (DESIGN.md §8): one tenant of a million customers beside 50 small tenants.

The big tenant (slug "bench-million") has, at --scale 1: 1,000,000 customers (nine in ten owned by 200 reps in 20
teams of 10, each team with its manager; one in ten in the pool), 2,000,000 contacts, 4,800,000 identifiers
(every company name, every contact's mobile, nine in ten contacts' emails), 500,000 opportunities, 300,000 leads
and 1,800,000 follow-ups. Each small tenant (slug "bench-small-<n>") holds a thousandth of that.

Everything is set-based SQL (INSERT … SELECT over generate_series) in one transaction: names come from a small
vocabulary (city + brand + trade + 有限公司) whose pinyin and initials are computed once per word with the app's own
`pinyin_forms`, phones are E.164 as `normalize_phone` writes them, company identifiers are the names
`normalize_company_name` folds. While it runs, the secondary indexes of the filled tables are dropped and rebuilt
afterwards (one sort each instead of a million random inserts), and foreign-key triggers are off
(session_replication_role): the rows are generated consistent. A second run finds the tenant at the same scale and
skips (one at another size is refused: seed into a new database).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python manage.py bench_seed [--scale 0.01]
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from crm.models import Role, Team, Tenant, User
from crm.phones import normalize_phone
from crm.services.tenant import tenant_create
from crm.tenancy import tenant_context
from customers.models import Pool
from customers.normalize import normalize_company_name, pinyin_forms
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import holdings_repair
from sales.models import LeadPool, LeadPoolTeam, Stage, StageKind
from sales.services.pipeline import ensure_default_pipeline

BIG_SLUG = "bench-million"
SMALL_TENANTS = 50
CITIES = "杭州 上海 北京 广州 深圳 南京 苏州 宁波 成都 武汉 西安 重庆 天津 长沙 郑州 济南 青岛 厦门 福州 合肥".split()
CITIES += (
    "昆明 南宁 贵阳 太原 石家庄 沈阳 大连 长春 哈尔滨 南昌 无锡 常州 温州 绍兴 嘉兴 金华 台州 佛山 东莞 珠海".split()
)
BRAND_CHARS = "越博云帆鸿达恒信华新宏泰金瑞天成永盛中和东方明远嘉禾富源安康丰德润海纳启航星辰卓汇通鼎昌隆锦绣佳联兴旺百"
TRADES = "建材 科技 贸易 电子 机械 食品 服装 物流 医药 化工".split()
SUFFIX = "有限公司"
SURNAMES = "张王李赵刘陈杨黄吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
# Tables the seed fills: their secondary (non-constraint) indexes are rebuilt after the inserts.
TABLES = [
    "customers_customer",
    "customers_contact",
    "customers_customeridentifier",
    "sales_opportunity",
    "sales_lead",
    "sales_followup",
]


def _words(words: list[str]) -> tuple[list[str], list[str], list[str]]:
    forms = [pinyin_forms(word) for word in words]
    return words, [full for full, _ in forms], [initials for _, initials in forms]


def vocabulary() -> dict[str, list[str]]:
    """City, brand and trade words with their pinyin and initials (computed once per word, not per customer)."""
    chars = list(dict.fromkeys(BRAND_CHARS))
    brands = [a + b for a in chars for b in chars if a != b]
    vocab = {}
    for key, words in (("city", CITIES), ("brand", brands), ("trade", TRADES), ("sur", list(SURNAMES))):
        vocab[key], vocab[f"{key}_py"], vocab[f"{key}_ini"] = _words(words)
    vocab["given"] = list(GIVEN)
    vocab["suffix_py"], vocab["suffix_ini"] = pinyin_forms(SUFFIX)
    return vocab


class Command(BaseCommand):
    help = "Seed the million-customer data set of `make bench` (skipped when it is already there)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = a million customers; 0.01 for a test")
        parser.add_argument("--small-tenants", type=int, default=SMALL_TENANTS)

    def handle(self, *args, scale, small_tenants, **opts):
        customers = max(int(1_000_000 * scale), 400)
        if customers > 400 * len(vocabulary()["brand"]):
            raise CommandError("the name vocabulary holds a million distinct customer names at most")
        marker = f"Bench {customers}"
        existing = Tenant.objects.filter(slug=BIG_SLUG).first()
        if existing and existing.name == marker:
            self.stdout.write(f"bench data set already seeded ({customers:,} customers): skipped")
            return
        if existing:
            raise CommandError(
                f"this database holds the bench data set at another size ({existing.name}): seed into a new one "
                "(dropdb, then make bench)"
            )
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute("SET LOCAL synchronous_commit = off")
                dropped = self._drop_indexes(cursor)
            vocab = vocabulary()
            big = self._tenant(BIG_SLUG, marker, teams=20, reps_per_team=10)
            self._fill(big, vocab, customers)
            seeded = [big]
            for n in range(small_tenants):
                small = self._tenant(f"bench-small-{n}", f"Bench small {n}", teams=2, reps_per_team=3)
                self._fill(small, vocab, max(customers // 1000, 20))
                seeded.append(small)
            # The customers' stored fall-back dates, from the rules (one set-based UPDATE per company), and the count
            # of customers held per owner, which the triggers switched off above did not keep.
            for tenant in seeded:
                with tenant_context(tenant.pk):
                    fallback_at_refresh(tenant=tenant)
                    holdings_repair(tenant.pk)
            with connection.cursor() as cursor:
                t0 = time.monotonic()
                for sql in dropped:
                    cursor.execute(sql)
                self.stdout.write(f"rebuilt {len(dropped)} indexes in {time.monotonic() - t0:.1f}s")
        # Leave the tables as autovacuum would in production: statistics, and the visibility map that index-only
        # scans need (the opportunities' and leads' sums and counts read their covering indexes alone only where
        # the map says so). VACUUM cannot run inside a transaction (a test's): there, statistics only.
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"{verb} {table}")  # noqa: S608 - a table name of ours
            # And statistics of every other table (stages, users, teams, holdings…): autovacuum is off on some
            # hosts, and a small table without them skews the plans of the queries that join it.
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"seeded {customers:,} customers and 50 small tenants in {time.monotonic() - started:.1f}s"
            )
        )

    def _drop_indexes(self, cursor) -> list[str]:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[]) AND c.oid IS NULL
            """,
            [TABLES],
        )
        rows = cursor.fetchall()
        for name, _ in rows:
            cursor.execute(f'DROP INDEX "{name}"')
        return [definition for _, definition in rows]

    def _tenant(self, slug: str, name: str, *, teams: int, reps_per_team: int) -> Tenant:
        tenant = tenant_create(
            name=name, slug=slug, admin_email=f"admin@{slug}.test", admin_password=None, language="zh-hans"
        )
        with tenant_context(tenant.pk):
            root = Team.objects.get(tenant=tenant, parent=None)
            for t in range(teams):
                manager = User.objects.create_user(
                    email=f"manager{t}@{slug}.test",
                    password=None,
                    tenant=tenant,
                    full_name=f"经理{t}",
                    roles=[Role.MANAGER],
                    team=root,
                )
                team = Team.objects.create(tenant=tenant, name=f"销售{t}组", parent=root, manager=manager)
                team.path = f"{root.path}{team.pk}/"
                team.save(update_fields=["path"])
                User.objects.bulk_create(
                    [
                        User(
                            tenant=tenant,
                            email=f"rep{t * reps_per_team + r}@{slug}.test",
                            full_name=f"销售{t * reps_per_team + r}",
                            roles=[Role.REP],
                            team=team,
                            password="!",
                        )
                        for r in range(reps_per_team)
                    ]
                )
        return tenant

    def _fill(self, tenant: Tenant, vocab: dict, customers: int) -> None:
        """Customer i (created in the order of i over 1,000 days, the reps' customers interleaved as they come in):
        name city[i % 40] + brand[i / 400] + trade[(i / 40) % 10] + 有限公司 (unique); owned by rep
        i % reps unless i % 10 = 9 (the pool); two contacts (mobile 138…, email for nine in ten); two follow-ups
        unless i % 10 = 0 (then never followed up), the last 0–34 days ago; opportunity j on customer 2j; leads."""
        t0 = time.monotonic()
        now = timezone.now()
        with tenant_context(tenant.pk):
            reps = list(
                User.objects.filter(tenant=tenant, roles__contains=[Role.REP])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            # The fall-back rules of the benchmark: 30 days without a follow-up for customers, 28 for leads.
            pool = Pool.objects.get(tenant=tenant, is_default=True)
            pool.no_followup_days = 30
            pool.save(update_fields=["no_followup_days"])
            lead_pool = LeadPool.objects.filter(tenant=tenant, is_default=True).first()
            if lead_pool is None:
                lead_pool = LeadPool.objects.create(tenant=tenant, name="线索池", is_default=True)
                root = Team.objects.get(tenant=tenant, parent=None)
                LeadPoolTeam.objects.create(tenant=tenant, pool=lead_pool, team=root)
            lead_pool.no_followup_days = 28
            lead_pool.save(update_fields=["no_followup_days"])
            pipeline = ensure_default_pipeline(tenant)
            stages = list(Stage.objects.filter(pipeline=pipeline).ordered())
            open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
            won = next(s.pk for s in stages if s.kind == StageKind.WON)
            lost = next(s.pk for s in stages if s.kind == StageKind.LOST)
            assert normalize_phone("13800000000") == "+8613800000000"
            assert normalize_company_name("杭州越博建材有限公司") == "杭州越博建材"
            params = {
                "t": tenant.pk,
                "now": now,
                "n": customers,
                "reps": reps,
                "nr": len(reps),
                "pool": pool.pk,
                "lead_pool": lead_pool.pk,
                "pipeline": pipeline.pk,
                "open": open_ids,
                "no": len(open_ids),
                "won": won,
                "lost": lost,
                "cur": tenant.currency,
                "opps": customers // 2,
                "leads": customers * 3 // 10,
                "nb": len(vocab["brand"]),
                **{key: value for key, value in vocab.items()},
            }
            with connection.cursor() as cursor:
                cursor.execute("SELECT COALESCE(max(id), 0) FROM customers_customer")
                c0 = cursor.fetchone()[0] + 1
                params["c0"] = c0
                # Word indexes of customer i: city i % 40, trade (i / 40) % 10, brand (i / 400) % brands.
                words = """
                    (%(city)s::text[])[1 + i %% 40] AS city, (%(city_py)s::text[])[1 + i %% 40] AS city_py,
                    (%(city_ini)s::text[])[1 + i %% 40] AS city_ini,
                    (%(brand)s::text[])[1 + (i / 400) %% %(nb)s] AS brand,
                    (%(brand_py)s::text[])[1 + (i / 400) %% %(nb)s] AS brand_py,
                    (%(brand_ini)s::text[])[1 + (i / 400) %% %(nb)s] AS brand_ini,
                    (%(trade)s::text[])[1 + (i / 40) %% 10] AS trade, (%(trade_py)s::text[])[1 + (i / 40) %% 10] AS trade_py,
                    (%(trade_ini)s::text[])[1 + (i / 40) %% 10] AS trade_ini
                """
                cursor.execute(
                    f"""
                    INSERT INTO customers_customer (id, tenant_id, created_at, updated_at, kind, name, name_pinyin,
                        name_initials, status, industry, region, source, is_key_account, credit_code, address, website,
                        notes, owner_id, pool_id, owned_since, last_followed_up_at, extension_days, custom, pooled_at)
                    SELECT %(c0)s + i, %(t)s, %(now)s - (%(n)s - i) * interval '1000 days' / %(n)s, %(now)s, 'company',
                        w.city || w.brand || w.trade || '{SUFFIX}', w.city_py || w.brand_py || w.trade_py || %(suffix_py)s,
                        w.city_ini || w.brand_ini || w.trade_ini || %(suffix_ini)s,
                        CASE WHEN i %% 3 = 0 THEN 'active' ELSE 'potential' END, w.trade, w.city, '展会', i %% 50 = 0,
                        '', '', '', '',
                        CASE WHEN i %% 10 <> 9 THEN (%(reps)s::bigint[])[1 + i %% %(nr)s] END, %(pool)s,
                        CASE WHEN i %% 10 = 9 THEN NULL WHEN i %% 10 = 0 THEN %(now)s - interval '5 days'
                             ELSE %(now)s - interval '60 days' END,
                        CASE WHEN i %% 10 <> 0 THEN %(now)s - ((i * 7919) %% 3400) * interval '864 seconds' END,
                        0, '{{}}',
                        CASE WHEN i %% 10 = 9 THEN %(now)s - (%(n)s - i) * interval '1000 days' / %(n)s END
                    FROM generate_series(0::bigint, %(n)s - 1) i, LATERAL (SELECT {words}) w
                    """,  # noqa: S608 - our own fragments
                    params,
                )
                cursor.execute(
                    f"""
                    INSERT INTO customers_customeridentifier (tenant_id, customer_id, kind, value)
                    SELECT %(t)s, %(c0)s + i, 'company', w.city || w.brand || w.trade
                    FROM generate_series(0::bigint, %(n)s - 1) i, LATERAL (SELECT {words}) w
                    """,  # noqa: S608
                    params,
                )
                # Contact k (0, 1) of customer i is number 2i + k: mobile +86138 and eight digits.
                cursor.execute(
                    """
                    INSERT INTO customers_contact (tenant_id, created_at, updated_at, customer_id, name, title, mobile,
                        phone, email, wechat, is_primary, notes, consent_source, lunar_birthday_leap,
                        marketing_consent, prefers_lunar_birthday, unsubscribe_source, custom)
                    SELECT %(t)s, %(now)s, %(now)s, %(c0)s + i,
                        (%(sur)s::text[])[1 + (2 * i + k) %% 20] || (%(given)s::text[])[1 + ((2 * i + k) / 20) %% 20],
                        '', '+86138' || lpad((2 * i + k)::text, 8, '0'), '',
                        CASE WHEN k = 0 OR i %% 5 <> 0 THEN 'c' || (2 * i + k) || '@example.cn' ELSE '' END,
                        '', k = 0, '', '', false, k = 0, false, '', '{}'::jsonb
                    FROM generate_series(0::bigint, %(n)s - 1) i, generate_series(0, 1) k
                    """,
                    params,
                )
                cursor.execute(
                    """
                    INSERT INTO customers_customeridentifier (tenant_id, customer_id, kind, value)
                    SELECT %(t)s, customer_id, 'phone', mobile FROM customers_contact
                    WHERE tenant_id = %(t)s AND customer_id >= %(c0)s
                    UNION ALL
                    SELECT %(t)s, customer_id, 'email', email FROM customers_contact
                    WHERE tenant_id = %(t)s AND customer_id >= %(c0)s AND email <> ''
                    """,
                    params,
                )
                # Two follow-ups of customer i (i % 10 <> 0) by its owner (a rep for the pool's), the last one at the
                # customer's last_followed_up_at.
                cursor.execute(
                    """
                    INSERT INTO sales_followup (tenant_id, created_at, updated_at, kind, happened_at, content, outcome,
                        next_step, author_id, customer_id)
                    SELECT %(t)s, c.last_followed_up_at, %(now)s, 'call', c.last_followed_up_at - k * interval '7 days',
                        '电话沟通，客户有意向', 'positive', '', COALESCE(c.owner_id, (%(reps)s::bigint[])[1 + c.id %% %(nr)s]), c.id
                    FROM customers_customer c, generate_series(0, 1) k
                    WHERE c.tenant_id = %(t)s AND c.id >= %(c0)s AND c.last_followed_up_at IS NOT NULL
                    """,
                    params,
                )
                # Opportunity j on customer 2j (always owned), by its owner: 38% open over the open stages.
                cursor.execute(
                    """
                    INSERT INTO sales_opportunity (tenant_id, created_at, updated_at, name, customer_id, pipeline_id,
                        stage_id, status, owner_id, amount, currency, expected_close_date, lost_reason,
                        stage_entered_at, closed_at, notes, custom)
                    SELECT %(t)s, %(now)s - (j %% 525600) * interval '1 minute', %(now)s, c.name || ' 采购项目',
                        c.id, %(pipeline)s,
                        CASE WHEN j %% 50 < 19 THEN (%(open)s::bigint[])[1 + j %% %(no)s]
                             WHEN j %% 50 < 35 THEN %(won)s ELSE %(lost)s END,
                        CASE WHEN j %% 50 < 19 THEN 'open' WHEN j %% 50 < 35 THEN 'won' ELSE 'lost' END,
                        c.owner_id, 1000 + j %% 50000, %(cur)s, (%(now)s)::date + (j %% 120 - 30)::int,
                        CASE WHEN j %% 50 >= 35 THEN '价格' ELSE '' END, %(now)s - (j %% 90) * interval '1 day',
                        CASE WHEN j %% 50 >= 19 THEN %(now)s - (j %% 400000) * interval '1 minute' END, '', '{}'::jsonb
                    FROM generate_series(0::bigint, %(opps)s - 1) j JOIN customers_customer c ON c.id = %(c0)s + 2 * j
                    """,
                    params,
                )
                cursor.execute(
                    f"""
                    INSERT INTO sales_lead (tenant_id, created_at, updated_at, name, company, company_key, title, phone,
                        email, wechat, region, industry, message, source, campaign, origin, status,
                        disqualified_reason, owner_id, score, score_rules, is_duplicate, duplicate_kind, consent_text,
                        pool_id, owned_since, last_followed_up_at, extension_days, custom)
                    SELECT %(t)s, %(now)s - (i %% 300) * interval '1 day', %(now)s,
                        (%(sur)s::text[])[1 + i %% 20] || (%(given)s::text[])[1 + (i / 20) %% 20],
                        w.city || w.brand || '商贸' || '{SUFFIX}', w.city || w.brand || '商贸',
                        '', '+86139' || lpad(i::text, 8, '0'), '', '', w.city, '', '', '官网', '', 'manual',
                        CASE WHEN i %% 3 = 0 THEN 'new' ELSE 'contacted' END, '',
                        CASE WHEN i %% 10 <> 9 THEN (%(reps)s::bigint[])[1 + i %% %(nr)s] END, i %% 100, '{{}}',
                        false, '', '', %(lead_pool)s, CASE WHEN i %% 10 <> 9 THEN %(now)s - interval '40 days' END,
                        %(now)s - (i %% 30) * interval '1 day', 0, '{{}}'::jsonb
                    FROM generate_series(0::bigint, %(leads)s - 1) i, LATERAL (SELECT {words}) w
                    """,  # noqa: S608
                    params,
                )
                for table in TABLES:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                    )
        self.stdout.write(f"{tenant.slug}: {customers:,} customers in {time.monotonic() - t0:.1f}s")
