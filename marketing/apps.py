from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from marketing import audit_sentences

        audit_sentences.register()
        from crm.registry import CustomerPanel, NavEntry, NavGroup, OrderExtension, registry, roles_any
        from marketing import widgets
        from marketing.services import coupon

        # The order form takes a care coupon's code; sales never imports marketing.
        registry.add_order_extension(
            OrderExtension(key="care_coupon", fields=coupon.coupon_fields, apply=coupon.apply_to_order)
        )

        registry.add_nav_group(NavGroup(key="marketing", label=_("Marketing"), order=55))
        registry.add_nav(
            NavEntry(
                key="care",
                group="marketing",
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
