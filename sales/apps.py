from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from crm.registry import (
            ApiResource,
            CustomerPanel,
            HomeWidget,
            NavEntry,
            PersonalDataHolder,
            SettingsPage,
            registry,
            roles_any,
        )
        from crm.signals import tenant_created
        from customers.services.assignment import register_load_counter
        from customers.services.assignment_backlog import BacklogSource, register_backlog_source
        from sales import widgets
        from sales.api import FollowUpViewSet, LeadViewSet, OpportunityViewSet, OrderViewSet, TaskViewSet
        from sales.imports import LeadKind
        from sales.services.erasure import sales_personal_data_erase, sales_personal_data_export
        from sales.services.lead import open_leads_per_owner
        from sales.services.lead_backlog import lead_backlog_apply, lead_backlog_items
        from sales.services.pipeline import ensure_default_pipeline

        # "Least loaded" counts open leads next to held customers (customers.services.assignment).
        register_load_counter("sales.open_leads", open_leads_per_owner)
        # Unassigned leads show in the rules' dry run and are given out by "apply to the backlog".
        register_backlog_source(
            BacklogSource(kind="lead", label=_("Leads"), items=lead_backlog_items, apply=lead_backlog_apply)
        )

        def on_tenant_created(sender, tenant, **kwargs):
            ensure_default_pipeline(tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="sales.default_pipeline", weak=False)

        registry.add_import_kind(LeadKind)
        registry.add_personal_data_holder(
            PersonalDataHolder(key="sales", erase=sales_personal_data_erase, export=sales_personal_data_export)
        )

        sellers = roles_any("admin", "manager", "rep")
        registry.add_nav(
            NavEntry(
                key="leads",
                label=_("Leads"),
                url_name="sales:lead_list",
                order=12,
                visible=sellers,
                active_prefix="sales:lead",
            )
        )
        registry.add_nav(
            NavEntry(
                key="opportunities",
                label=_("Opportunities"),
                url_name="sales:opportunity_board",
                order=14,
                visible=sellers,
                active_prefix="sales:opportunity",
            )
        )
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
                visible=sellers,
                active_prefix="sales:order",
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="pipelines",
                label=_("Pipelines"),
                description=_("Sales pipelines, their stages and win probabilities."),
                url_name="sales:pipeline_settings",
                order=40,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="lead_scoring",
                label=_("Lead scoring"),
                description=_("Rules that score leads, so the best ones are called first."),
                url_name="sales:scoring_rules",
                order=42,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="lead_form",
                label=_("Web form"),
                description=_("The public form that brings leads from your website: its fields and who gets them."),
                url_name="sales:web_form_settings",
                order=44,
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="my_tasks",
                template="sales/widgets/my_tasks.html",
                order=3,
                context=widgets.home_tasks_context,
                width="col-lg-4",
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="my_pipeline",
                template="sales/widgets/my_pipeline.html",
                order=6,
                visible=sellers,
                context=widgets.my_pipeline,
                width="col-lg-4",
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="opportunities",
                label=_("Opportunities"),
                template="sales/panels/opportunities.html",
                order=5,
                visible=sellers,
                context=widgets.opportunities_panel_context,
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="followups",
                label=_("Follow-ups"),
                template="sales/panels/followups.html",
                order=10,
                context=widgets.followup_panel_context,
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="upcoming",
                label=_("Upcoming tasks and appointments"),
                template="sales/panels/upcoming.html",
                order=20,
                context=widgets.upcoming_panel_context,
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="orders",
                label=_("Orders"),
                template="sales/panels/orders.html",
                order=30,
                context=widgets.orders_panel_context,
            )
        )
        registry.add_api_resource(ApiResource(key="leads", prefix="leads", viewset=LeadViewSet, basename="lead"))
        registry.add_api_resource(
            ApiResource(key="opportunities", prefix="opportunities", viewset=OpportunityViewSet, basename="opportunity")
        )
        registry.add_api_resource(
            ApiResource(key="follow-ups", prefix="follow-ups", viewset=FollowUpViewSet, basename="followup")
        )
        registry.add_api_resource(ApiResource(key="tasks", prefix="tasks", viewset=TaskViewSet, basename="task"))
        registry.add_api_resource(ApiResource(key="orders", prefix="orders", viewset=OrderViewSet, basename="order"))
