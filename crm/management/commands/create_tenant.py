import secrets

from django.core.management.base import BaseCommand, CommandError

from crm.errors import DomainError
from crm.services.tenant import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (company) with its first administrator. Prints a generated password if none is given."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Company name")
        parser.add_argument("--slug", required=True, help="Short name: lowercase letters, digits, hyphens")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="")
        parser.add_argument("--admin-password", default="", help="Omit to generate one")
        parser.add_argument("--language", default="zh-hans", choices=["en", "zh-hans"])
        parser.add_argument("--timezone", default="Asia/Shanghai")

    def handle(self, *args, **opts):
        password = opts["admin_password"] or secrets.token_urlsafe(12)
        try:
            tenant = tenant_create(
                name=opts["name"],
                slug=opts["slug"],
                admin_email=opts["admin_email"],
                admin_password=password,
                admin_name=opts["admin_name"],
                language=opts["language"],
                timezone_name=opts["timezone"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} (id {tenant.pk})."))
        self.stdout.write(f"Admin login: {opts['admin_email']}")
        if not opts["admin_password"]:
            self.stdout.write(f"Generated password: {password}")
