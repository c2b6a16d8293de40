"""Re-render and re-index every knowledge-base article (after a change of the segmenter's dictionary or of the
sanitiser's rules): per company, in batches of one UPDATE each."""

from django.core.management.base import BaseCommand

from crm.models import Tenant
from crm.tenancy import tenant_context
from service.services.article import articles_reindex


class Command(BaseCommand):
    help = "Re-render and re-index the knowledge-base articles of every company (or of --tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", type=int, help="only this company's id")

    def handle(self, *args, tenant=None, **options):
        ids = [tenant] if tenant else list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
        total = 0
        for tenant_id in ids:
            with tenant_context(tenant_id):
                total += articles_reindex(tenant_id=tenant_id)
        self.stdout.write(f"{total} articles re-indexed")
