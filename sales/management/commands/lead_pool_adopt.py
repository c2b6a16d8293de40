"""Open leads without a lead pool join their company's default lead pool (installs that had leads before lead
pools): per company, one UPDATE each; a company without a default lead pool is left as it is."""

from django.core.management.base import BaseCommand

from crm.models import Tenant
from crm.tenancy import tenant_context
from sales.services.lead_pool import lead_pool_adopt_leads


class Command(BaseCommand):
    help = "Put every open lead without a lead pool into its company's default lead pool (or only --tenant's)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", type=int, help="only this company's id")

    def handle(self, *args, tenant=None, **options):
        ids = [tenant] if tenant else list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
        total = 0
        for tenant_id in ids:
            with tenant_context(tenant_id):
                total += lead_pool_adopt_leads(tenant=Tenant.objects.get(pk=tenant_id))
        self.stdout.write(f"{total} leads joined a default lead pool")
