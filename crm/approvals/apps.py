from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "crm.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from crm.registry import HomeWidget, NavEntry, NotificationActions, registry, roles_any

        from . import widgets

        registry.add_nav(NavEntry(key="approvals", label=_("Approvals"), url_name="approvals:list", order=800))
        registry.add_notification_actions(
            NotificationActions(
                key="approvals",
                key_prefix="approval:",
                template="approvals/request/partials/decision.html",
                context=widgets.notification_decisions,
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="approvals_waiting",
                template="approvals/request/widget.html",
                order=15,
                visible=roles_any("admin", "manager"),
                context=widgets.waiting_for_me,
                width="col-lg-4",
            )
        )
