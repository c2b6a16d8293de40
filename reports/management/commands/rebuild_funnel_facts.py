"""Rewrite the funnel facts from the opportunities and their stage history: after an upgrade that adds them, after
rows written in bulk, or to check nothing drifted. Safe to run while people work and to run twice."""

import time

from django.core.management.base import BaseCommand, CommandError

from crm.models import Tenant
from crm.services import outbox
from crm.tenancy import tenant_context
from reports import tasks
from reports.services.funnel_facts import funnel_facts_rebuild


class Command(BaseCommand):
    help = "Rebuild the funnel facts of one company (--tenant SLUG) or of every company, here or as jobs (--queue)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="the company's slug; every company when left out")
        parser.add_argument("--queue", action="store_true", help="queue one job per company instead")

    def handle(self, *args, tenant=None, queue=False, **opts):
        tenants = Tenant.objects.order_by("pk")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No company with the slug {tenant!r}.")
        for each in tenants:
            with tenant_context(each.pk):
                if queue:
                    outbox.enqueue(tasks.rebuild_tenant_funnel_facts, each.pk)
                    self.stdout.write(f"{each.slug}: queued")
                    continue
                started = time.monotonic()
                written = funnel_facts_rebuild(tenant_id=each.pk)
                self.stdout.write(f"{each.slug}: {written:,} opportunities in {time.monotonic() - started:.1f}s")
