from django.core.management.base import BaseCommand, CommandError

from crm.errors import DomainError
from crm.services.tenant_archive import tenant_archive_import


class Command(BaseCommand):
    help = (
        "Restore a company from an export_tenant archive, with its ids, into an empty installation or beside other "
        "companies. Refused, with nothing written, if the company, a user's email or an id is taken here or the "
        "schema differs. See docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive written by export_tenant")

    def handle(self, *args, **opts):
        try:
            with open(opts["archive"], "rb") as source:
                manifest = tenant_archive_import(source=source)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        tenant = manifest["tenant"]
        rows = sum(entry["rows"] for entry in manifest["tables"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {tenant['slug']} (id {tenant['id']}): {rows} rows, {len(manifest['files'])} files."
            )
        )
