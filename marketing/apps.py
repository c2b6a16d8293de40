from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from crm.registry import CustomerPanel, NavEntry, registry, roles_any
        from marketing import widgets

        registry.add_nav(
            NavEntry(
                key="care",
                label=_("Customer care"),
                url_name="marketing:campaign_list",
                order=50,
                visible=roles_any("admin", "manager"),
                active_prefix="marketing:",
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="care",
                label=_("Greetings and coupons"),
                template="marketing/panels/care.html",
                order=70,
                context=widgets.care_panel,
            )
        )
