"""Check (and repair) the customers' stored fall-back dates against the rules.

    python manage.py fallback_dates [--tenant SLUG] [--repair]

Without --repair it reports, per company, how many customers store a date other than the one the predicate computes
(and the first few), and exits with status 1 when any differs; with --repair it rewrites those (only those)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.models import Tenant
from crm.tenancy import tenant_context
from customers.services.fallback_date import fallback_at_mismatches, fallback_at_refresh

SHOWN = 5


class Command(BaseCommand):
    help = "Check the customers' stored fall-back dates against the rules; --repair rewrites those that differ."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one company's slug (default: every company)")
        parser.add_argument("--repair", action="store_true", help="rewrite the dates that differ")

    def handle(self, *args, tenant=None, repair=False, **options):
        tenants = Tenant.objects.order_by("pk")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No company with the slug {tenant!r}.")
        wrong_total = 0
        for company in tenants:
            with tenant_context(company.pk), transaction.atomic():
                if repair:
                    changed = fallback_at_refresh(tenant=company)
                    if changed:
                        self.stdout.write(f"{company.slug}: {changed} fall-back dates rewritten")
                    continue
                count, rows = fallback_at_mismatches(company, limit=SHOWN)
            if count:
                wrong_total += count
                self.stdout.write(f"{company.slug}: {count} customers store another fall-back date than the rules give")
                for pk, stored, computed in rows:
                    self.stdout.write(f"  customer {pk}: stored {stored}, computed {computed}")
        if not repair and wrong_total:
            raise CommandError(f"{wrong_total} stored fall-back dates differ; run with --repair.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Fall-back dates repaired." if repair else "Fall-back dates agree."))
