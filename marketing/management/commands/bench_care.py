"""Benchmark the birthday-greeting job (DESIGN.md §8): one tenant with N contacts, about 1/365 of them born today.

Seeds with set-based INSERT … SELECT generate_series into a tenant of its own (slug "bench-care-<time>"), prints the plan and
time of the bare selection SQL, then runs the job (greetings, coupons and outbox rows in one transaction) with its
time and query count, and runs it again (idempotent). Run it against a scratch database, e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench CELERY_BROKER_URL=memory:// python manage.py bench_care
"""

import datetime as dt
import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Tenant
from crm.services.tenant import tenant_create
from customers.models import Contact
from customers.services.tenant import default_pool
from marketing.models import CareCampaign, Coupon, Greeting
from marketing.selectors.care import campaign_channels, due_parts, greeting_channel, greeting_status
from marketing.services.greeting import greetings_run


class Command(BaseCommand):
    help = "Time the greeting job over many contacts, beside its bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=2_000_000)
        parser.add_argument(
            "--reuse",
            default="",
            help="the slug of a tenant an earlier run seeded (bench-care-…): time the job on it without seeding again",
        )
        parser.add_argument(
            "--due",
            type=int,
            default=0,
            help="born today: this many contacts (default: the natural share, about 1/365)",
        )

    def handle(self, *args, contacts, due, reuse, **opts):
        now = timezone.now()
        if reuse:
            tenant = Tenant.objects.get(slug=reuse)
            self.stdout.write(f"reusing {reuse}: {Contact.objects.filter(tenant=tenant).count():,} contacts")
            Greeting.objects.filter(tenant=tenant).delete()
            CareCampaign.objects.filter(tenant=tenant).delete()
        else:
            tenant = self.seed(contacts, due, now)
        self.run(tenant, now)

    def seed(self, contacts: int, due: int, now):
        # A tenant of its own each run (tenants keep their audit trail, so an earlier one is not deleted).
        slug = f"bench-care-{int(time.time())}"
        tenant = tenant_create(
            name="Bench care", slug=slug, admin_email=f"admin@{slug}.test", admin_password=None, language="en"
        )
        pool = default_pool(tenant)
        customers = contacts // 2
        today = timezone.localtime(now, tenant.tzinfo).date()
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO customers_customer (tenant_id, pool_id, created_at, updated_at, kind, name, name_pinyin,
                    name_initials, status, industry, region, source, is_key_account, credit_code, address, website,
                    notes, extension_days, custom)
                SELECT %s, %s, now(), now(), 'company', 'Bench customer ' || i, '', '', 'customer', '', '', '', false,
                    '', '', '', '', 0, '{}'::jsonb
                FROM generate_series(1, %s) AS i
                """,
                [tenant.pk, pool.pk, customers],
            )
            # Two contacts a customer; birthdays spread over every day of 40 years; four in five agreed.
            cursor.execute(
                """
                INSERT INTO customers_contact (tenant_id, customer_id, created_at, updated_at, name, title, mobile,
                    phone, email, wechat, birthday, is_primary, notes, lunar_birthday_leap, prefers_lunar_birthday,
                    marketing_consent, consent_source, unsubscribe_source)
                SELECT c.tenant_id, c.id, now(), now(), 'Contact ' || c.id || '-' || n, '', '', '',
                    'c' || c.id || '-' || n || '@bench.test', '',
                    date '1960-01-01' + ((c.id * 2 + n) * 7919 %% 14600)::int, n = 1, '', false, false,
                    (c.id + n) %% 5 <> 0, '', ''
                FROM customers_customer c CROSS JOIN generate_series(1, 2) AS n
                WHERE c.tenant_id = %s
                """,
                [tenant.pk],
            )
            if due:
                # Today's birthdays on exactly `due` contacts (a smaller tenant with the big one's daily load).
                cursor.execute(
                    """
                    UPDATE customers_contact SET birthday = make_date(1980, %s, %s)
                    WHERE id IN (SELECT id FROM customers_contact WHERE tenant_id = %s ORDER BY id LIMIT %s)
                    """,
                    [today.month, today.day, tenant.pk, due],
                )
            cursor.execute("ANALYZE customers_customer")
            cursor.execute("ANALYZE customers_contact")
        self.stdout.write(f"seeded {customers:,} customers, {contacts:,} contacts in {time.monotonic() - started:.1f}s")
        return tenant

    def run(self, tenant, now) -> None:
        today = timezone.localtime(now, tenant.tzinfo).date()
        campaign = CareCampaign.objects.create(
            tenant=tenant,
            name="Birthday",
            kind="birthday",
            send_hour=0,
            email_subject="Happy birthday {{ contact.name }}",
            email_body="Dear {{ contact.name }}, your coupon {{ coupon.code }} is valid until {{ coupon.expires }}.",
            coupon_kind="amount",
            coupon_value=Decimal("50"),
        )
        campaign.tenant = tenant
        for part in due_parts(campaign, today):
            channels = campaign_channels(campaign)
            rows = part.contacts.annotate(s=greeting_status(channels), c=greeting_channel(channels)).values_list(
                "tenant_id", "pk", "customer_id", "s", "c"
            )
            sql, params = rows.query.sql_with_params()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + sql, params)  # noqa: S608 - ORM SQL
                plan = "\n    ".join(row[0] for row in cursor.fetchall())
                t0 = time.monotonic()
                cursor.execute(sql, params)
                count = len(cursor.fetchall())
                took = time.monotonic() - t0
                shown = cursor.cursor.mogrify(sql, params).decode()
            self.stdout.write(f"bare selection: {count:,} rows in {took * 1000:.0f} ms\n  SQL: {shown}")
            self.stdout.write(f"  plan:\n    {plan}")

        with CaptureQueriesContext(connection) as queries:
            t0 = time.monotonic()
            result = greetings_run(tenant_id=tenant.pk, now=now)
            took = time.monotonic() - t0
        self.stdout.write(
            self.style.SUCCESS(
                f"greetings_run: {result['greeted']:,} greeted, {result['skipped']:,} skipped, "
                f"{Coupon.objects.filter(tenant=tenant).count():,} coupons, in {took * 1000:.0f} ms, "
                f"{len(queries)} queries"
            )
        )
        t0 = time.monotonic()
        again = greetings_run(tenant_id=tenant.pk, now=now + dt.timedelta(minutes=1))
        self.stdout.write(
            f"second run (idempotent): {again['greeted']} greeted in {(time.monotonic() - t0) * 1000:.0f} ms; "
            f"greetings in all {Greeting.objects.filter(tenant=tenant).count():,}"
        )
