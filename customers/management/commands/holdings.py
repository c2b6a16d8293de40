"""Check (and repair) the maintained count of customers each owner holds against a real count.

    python manage.py holdings [--tenant SLUG] [--repair]

Without --repair it reports, per company, the owners whose maintained count differs from the customers they hold
(the first few, with both figures), and exits with status 1 when any differs; with --repair it puts those (only
those) right. Both are safe while the CRM runs: no lock on the customers, no change written by others lost."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.models import Tenant
from crm.tenancy import tenant_context
from customers.services.holdings import holdings_drift, holdings_repair

SHOWN = 5


class Command(BaseCommand):
    help = "Check the maintained count of customers held per owner against a real count; --repair puts it right."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one company's slug (default: every company)")
        parser.add_argument("--repair", action="store_true", help="put the counts that differ right")

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
                    changed = holdings_repair(company.pk)
                    if changed:
                        self.stdout.write(f"{company.slug}: {changed} owners' counts put right")
                    continue
                rows = holdings_drift(company.pk)
            if rows:
                wrong_total += len(rows)
                self.stdout.write(f"{company.slug}: {len(rows)} owners' counts differ from the customers they hold")
                for owner_id, held, counted in rows[:SHOWN]:
                    self.stdout.write(f"  user {owner_id}: counted {held}, holds {counted}")
        if not repair and wrong_total:
            raise CommandError(f"{wrong_total} owners' counts differ; run with --repair.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Holdings put right." if repair else "Holdings agree."))
