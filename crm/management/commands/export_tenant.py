from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.models import Tenant
from crm.services.tenant_archive import tenant_archive_export


class Command(BaseCommand):
    help = (
        "Write one company's rows (every tenant table) and stored files to one archive (.tar.gz with a manifest of "
        "row counts and checksums). Restore it with import_tenant. See docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("company", help="The company's short name (slug) or id")
        parser.add_argument("archive", help="The archive to write, e.g. acme.tar.gz")

    def handle(self, *args, **opts):
        company = opts["company"]
        tenant = Tenant.objects.filter(slug=company).first()
        if tenant is None and company.isdigit():
            tenant = Tenant.objects.filter(pk=int(company)).first()
        if tenant is None:
            raise CommandError(f"No company {company!r}.")
        path = Path(opts["archive"])
        if path.exists():
            raise CommandError(f"{path} exists: choose another name.")
        try:
            with path.open("xb") as out:
                manifest = tenant_archive_export(tenant=tenant, out=out)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        rows = sum(entry["rows"] for entry in manifest["tables"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {tenant.slug} (id {tenant.pk}): {rows} rows in {len(manifest['tables'])} tables, "
                f"{len(manifest['files'])} files → {path}"
            )
        )
        for entry in manifest["files"]:
            if entry.get("missing"):
                self.stderr.write(f"Missing from storage, not in the archive: {entry['name']}")
