from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from crm.registry import CustomerPanel, HomeWidget, NavEntry, registry, roles_any

        from . import views

        registry.add_nav(
            NavEntry(key="tasks", label=_("Tasks"), url_name="sales:task_list", order=20, active_prefix="sales:task")
        )
        registry.add_nav(
            NavEntry(
                key="calendar",
                label=_("Calendar"),
                url_name="sales:calendar",
                order=30,
                active_prefix="sales:appointment",
            )
        )
        registry.add_nav(
            NavEntry(
                key="orders",
                label=_("Orders"),
                url_name="sales:order_list",
                order=40,
                visible=roles_any("admin", "manager", "rep"),
                active_prefix="sales:order",
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="my_tasks",
                template="sales/widgets/my_tasks.html",
                order=3,
                context=views.home_tasks_context,
                width="col-lg-4",
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="followups",
                label=_("Follow-ups"),
                template="sales/panels/followups.html",
                order=10,
                context=views.followup_panel_context,
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="upcoming",
                label=_("Upcoming tasks and appointments"),
                template="sales/panels/upcoming.html",
                order=20,
                context=views.upcoming_panel_context,
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="orders",
                label=_("Orders"),
                template="sales/panels/orders.html",
                order=30,
                context=views.orders_panel_context,
            )
        )
