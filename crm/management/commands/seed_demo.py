import importlib
import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation

from crm import demo


class Command(BaseCommand):
    help = (
        "Create the Demo and Acme tenants with realistic data. Idempotent: a second run adds nothing. "
        "Each app may add its own demo data in <app>/demo.py with seed_tenant(demo_tenant)."
    )

    def handle(self, *args, **opts):
        started = time.monotonic()
        with transaction.atomic():
            tenants = demo.seed()
            # Later apps extend the demo without crm importing them: <app>/demo.py → seed_tenant(demo_tenant).
            for config in apps.get_app_configs():
                if config.name == "crm":
                    continue
                try:
                    module = importlib.import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                for demo_tenant in tenants:
                    # Texts the services store as they write (an approval's summary, a notification) are in the
                    # company's language, as when its users do the same in the browser.
                    with translation.override(demo_tenant.tenant.language):
                        module.seed_tenant(demo_tenant)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f}s."))
        self.stdout.write(f"Password for every demo login: {demo.DEMO_PASSWORD}")
        for login, what in demo.LOGINS:
            self.stdout.write(f"  {login:40} {what}")
