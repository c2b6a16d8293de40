"""`manage.py receive_email --company <slug> < message.eml`: file one RFC 822 message from stdin into a company's
service desk (what a mail server's pipe alias runs, e.g. in /etc/aliases:
`support-demo: "|/srv/crm/.venv/bin/python /srv/crm/manage.py receive_email --company demo"`).
Exit status 0 when filed or deliberately ignored (the mail server must not bounce auto-replies back), 67 for an
unknown company (EX_NOUSER), so the mail server bounces it."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from crm.models import Tenant
from crm.tenancy import tenant_context
from service.services.inbound import inbound_receive, parse_message

EX_NOUSER = 67


class Command(BaseCommand):
    help = "File one email (RFC 822 on stdin) into a company's service desk."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="the company's slug")

    def handle(self, *args, company: str, **options):
        tenant = Tenant.objects.filter(slug=company, is_active=True).first()
        if tenant is None:
            self.stderr.write(f"No active company {company!r}.")
            sys.exit(EX_NOUSER)
        raw = sys.stdin.buffer.read()
        with tenant_context(tenant.pk):
            ticket = inbound_receive(tenant=tenant, mail=parse_message(raw))
        if ticket is None:
            self.stdout.write("ignored")
        else:
            self.stdout.write(ticket.display_number)
