from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.registry import ApiResource, CustomerPanel, HomeWidget, NavEntry, SettingsPage, registry, roles_any
        from crm.signals import tenant_created, user_deactivated
        from customers import widgets
        from customers.api import ContactViewSet, CustomerViewSet
        from customers.imports.contact import ContactKind
        from customers.imports.customer import CustomerKind
        from customers.services.extension import extension_policy
        from customers.services.pool import release_all_of
        from customers.services.tenant import tenant_defaults

        def on_tenant_created(sender, tenant, **kwargs):
            tenant_defaults(tenant=tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="customers.tenant_defaults", weak=False)

        def on_user_deactivated(sender, user, acting_user=None, **kwargs):
            release_all_of(user=user, acting_user=acting_user)

        user_deactivated.connect(on_user_deactivated, dispatch_uid="customers.release_deactivated", weak=False)

        registry.add_approval_policy(extension_policy())
        registry.add_import_kind(CustomerKind)
        registry.add_import_kind(ContactKind)

        registry.add_nav(NavEntry(key="customers", label=_("Customers"), url_name="customers:list", order=10))
        registry.add_nav(
            NavEntry(
                key="pool",
                label=_("Public pool"),
                url_name="pool:list",
                order=15,
                visible=roles_any("rep", "manager", "admin"),
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="pools",
                label=_("Pools"),
                description=_("Public pools, who sees them, and when customers fall back to them."),
                url_name="pool_settings:list",
                order=30,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="privacy",
                label=_("Privacy log"),
                description=_("Who revealed whose phone or email, who exported customers, which contacts were erased."),
                url_name="privacy_log",
                order=38,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="assignment",
                label=_("Assignment rules"),
                description=_("Which rep gets new customers and leads: ordered rules, each with a dry run first."),
                url_name="assignment:list",
                order=35,
            )
        )
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
                context=widgets.ownership_timeline_context,
            )
        )
        registry.add_api_resource(
            ApiResource(key="customers", prefix="customers", viewset=CustomerViewSet, basename="customer")
        )
        registry.add_api_resource(
            ApiResource(key="contacts", prefix="contacts", viewset=ContactViewSet, basename="contact")
        )
