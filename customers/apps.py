from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.registry import NavEntry, registry
        from crm.signals import tenant_created

        from . import services

        def on_tenant_created(sender, tenant, **kwargs):
            services.tenant_defaults(tenant=tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="customers.tenant_defaults")

        registry.add_nav(NavEntry(key="customers", label=_("Customers"), url_name="customers:list", order=10))
