from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.registry import CustomerPanel, HomeWidget, NavEntry, registry, roles_any
        from crm.signals import tenant_created

        from . import services, views, widgets

        def on_tenant_created(sender, tenant, **kwargs):
            services.tenant_defaults(tenant=tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="customers.tenant_defaults")

        registry.add_nav(NavEntry(key="customers", label=_("Customers"), url_name="customers:list", order=10))
        registry.add_home_widget(
            HomeWidget(
                key="my_customers",
                template="customers/widgets/my_customers.html",
                order=5,
                visible=roles_any("rep", "manager"),
                context=widgets.my_customers,
                width="col-lg-8",
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="ownership",
                label=_("Ownership history"),
                template="customers/panels/ownership.html",
                order=900,
                context=views.ownership_timeline_context,
            )
        )
