from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from sales import audit_sentences

        audit_sentences.register()
        from crm.access import SALES_ROLES
        from crm.registry import (
            ApiResource,
            CustomerPanel,
            HomeWidget,
            NavEntry,
            NavGroup,
            PersonalDataHolder,
            SearchSource,
            SettingsPage,
            registry,
            roles_any,
        )
        from crm.signals import tenant_created
        from customers.services.assignment import register_load_counter
        from customers.services.assignment_backlog import BacklogSource, register_backlog_source
        from sales import widgets
        from sales.api import (
            FollowUpViewSet,
            LeadViewSet,
            OpportunityViewSet,
            OrderViewSet,
            ProductViewSet,
            TaskViewSet,
        )
        from sales.exports.lead import LeadExport
        from sales.exports.opportunity import OpportunityExport
        from sales.imports.lead import LeadKind
        from sales.imports.product import ProductKind
        from sales.selectors.search import lead_hits, opportunity_hits
        from sales.services.contract import contract_policy
        from sales.services.erasure import sales_personal_data_erase, sales_personal_data_export
        from sales.services.lead import open_leads_per_owner
        from sales.services.lead_backlog import lead_backlog_apply, lead_backlog_items
        from sales.services.lead_pool import lead_extension_policy
        from sales.services.order import order_policy
        from sales.services.pipeline import ensure_default_pipeline
        from sales.services.quote import quote_policy

        # "Least loaded" counts open leads next to held customers (customers.services.assignment).
        register_load_counter("sales.open_leads", open_leads_per_owner)
        # Unassigned leads show in the rules' dry run and are given out by "apply to the backlog".
        register_backlog_source(
            BacklogSource(kind="lead", label=_("Leads"), items=lead_backlog_items, apply=lead_backlog_apply)
        )

        def on_tenant_created(sender, tenant, **kwargs):
            ensure_default_pipeline(tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="sales.default_pipeline", weak=False)

        from customers.signals import choice_value_mapped
        from sales.services.lead import leads_map_value

        def on_choice_value_mapped(sender, tenant, kind, from_value, to_value, **kwargs):
            return leads_map_value(tenant=tenant, kind=kind, from_value=from_value, to_value=to_value)

        choice_value_mapped.connect(on_choice_value_mapped, dispatch_uid="sales.map_lead_values", weak=False)

        registry.add_import_kind(LeadKind)
        registry.add_import_kind(ProductKind)
        registry.add_approval_policy(quote_policy())
        registry.add_approval_policy(contract_policy())
        registry.add_approval_policy(lead_extension_policy())
        registry.add_approval_policy(order_policy())
        registry.add_personal_data_holder(
            PersonalDataHolder(key="sales", erase=sales_personal_data_erase, export=sales_personal_data_export)
        )

        sellers = roles_any("admin", "manager", "rep")
        registry.add_nav_group(NavGroup(key="sales", label=_("Sales"), order=12))
        registry.add_nav(
            NavEntry(
                key="leads",
                group="sales",
                label=_("Leads"),
                url_name="sales:lead_list",
                order=12,
                visible=sellers,
                active_prefix="sales:lead",
            )
        )
        registry.add_nav(
            NavEntry(
                key="lead_pools",
                label=_("Lead pools"),
                url_name="sales:lead_pool_list",
                group="sales",
                order=13,
                visible=sellers,
                active_prefix="sales:lead_pool",
            )
        )
        registry.add_nav(
            NavEntry(
                key="opportunities",
                group="sales",
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
                group="sales",
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
        registry.add_nav(
            NavEntry(
                key="quotes",
                group="sales",
                label=_("Quotes"),
                url_name="sales:quote_list",
                order=15,
                visible=sellers,
                active_prefix="sales:quote",
            )
        )
        registry.add_nav(
            NavEntry(
                key="contracts",
                group="sales",
                label=_("Contracts"),
                url_name="sales:contract_list",
                order=16,
                visible=sellers,
                active_prefix="sales:contract",
            )
        )
        registry.add_nav(
            NavEntry(
                key="receivables",
                group="sales",
                label=_("Receivables"),
                url_name="sales:receivables",
                order=17,
                visible=sellers,
                active_prefix="sales:receivable",
            )
        )
        registry.add_nav(
            NavEntry(
                key="products",
                group="sales",
                label=_("Products"),
                url_name="sales:product_list",
                order=45,
                active_prefix="sales:product",
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="quotes",
                label=_("Quotes"),
                description=_(
                    "When quotes and discounted orders need a manager's or an administrator's approval; validity and terms."
                ),
                url_name="sales:quote_settings",
                order=41,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="lead_pools",
                label=_("Lead pools"),
                description=_("Lead pools (线索池): who sees them, claim limits, and when leads fall back."),
                url_name="sales:lead_pool_settings",
                order=43,
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
        registry.add_home_widget(
            HomeWidget(
                key="my_leads_falling_back",
                template="sales/widgets/my_leads_falling_back.html",
                order=7,
                visible=sellers,
                context=widgets.my_leads_falling_back,
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
                key="contracts",
                label=_("Contracts and payments"),
                template="sales/panels/contracts.html",
                order=6,
                visible=sellers,
                context=widgets.contracts_panel_context,
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
        registry.add_search_source(
            SearchSource(key="leads", label=_("Leads"), search=lead_hits, order=30, visible=roles_any(*SALES_ROLES))
        )
        registry.add_search_source(
            SearchSource(
                key="opportunities",
                label=_("Opportunities"),
                search=opportunity_hits,
                order=40,
                visible=roles_any(*SALES_ROLES),
            )
        )

        from crm.registry import AuditAction, AuditKind

        registry.add_audit_kind(AuditKind("lead", _("Leads"), "sales.lead", "sales:lead_detail", order=20))
        registry.add_audit_kind(
            AuditKind("opportunity", _("Opportunities"), "sales.opportunity", "sales:opportunity_detail", order=21)
        )
        registry.add_audit_kind(AuditKind("order", _("Orders"), "sales.order", order=22))
        registry.add_audit_kind(AuditKind("task", _("Tasks"), "sales.task", order=23))
        for action in (
            AuditAction("lead.create", _("%(actor)s created the lead %(object)s"), _("Lead created")),
            AuditAction("lead.update", _("%(actor)s changed the lead %(object)s"), _("Lead changed")),
            AuditAction("lead.status", _("%(actor)s changed the status of the lead %(object)s"), _("Lead status")),
            AuditAction(
                "lead.convert", _("%(actor)s converted the lead %(object)s into a customer"), _("Lead converted")
            ),
            AuditAction(
                "lead.assign",
                ngettext_lazy(
                    "%(actor)s gave %(count)d lead to %(user)s", "%(actor)s gave %(count)d leads to %(user)s", "count"
                ),
                _("Leads assigned"),
                items="leads",
                items_kind="lead",
                user="to",
            ),
            AuditAction("lead.claim", _("%(actor)s claimed the lead %(object)s from a lead pool"), _("Lead claimed")),
            AuditAction(
                "lead.release",
                _("%(actor)s released the lead %(object)s to a lead pool: %(text)s"),
                _("Lead released"),
                text="reason",
            ),
            AuditAction(
                "lead.pool_assign",
                ngettext_lazy(
                    "%(actor)s gave %(count)d pool lead to %(user)s",
                    "%(actor)s gave %(count)d pool leads to %(user)s",
                    "count",
                ),
                _("Pool leads assigned"),
                items="leads",
                items_kind="lead",
                user="to",
            ),
            AuditAction(
                "lead_pool.fallback",
                ngettext_lazy(
                    "%(count)d lead fell back to the lead pools",
                    "%(count)d leads fell back to the lead pools",
                    "count",
                ),
                _("Leads fell back"),
                count="leads",
            ),
            AuditAction(
                "lead.extension_request",
                _("%(actor)s asked for more time on the lead %(object)s: %(text)s"),
                _("Lead extension asked"),
                text="reason",
            ),
            AuditAction("lead.extension.approved", _("%(actor)s extended the lead %(object)s"), _("Lead extended")),
            AuditAction(
                "lead.extension.declined",
                _("%(actor)s declined more time on the lead %(object)s"),
                _("Lead extension declined"),
            ),
            AuditAction(
                "lead.extension.withdrawn",
                _("The extension asked on the lead %(object)s was withdrawn"),
                _("Lead extension withdrawn"),
            ),
            AuditAction("lead_pool.create", _("%(actor)s created the lead pool %(object)s"), _("Lead pool created")),
            AuditAction("lead_pool.update", _("%(actor)s changed the lead pool %(object)s"), _("Lead pool changed")),
            AuditAction(
                "lead_pool.adopt",
                ngettext_lazy(
                    "%(count)d lead without a lead pool joined %(object)s",
                    "%(count)d leads without a lead pool joined %(object)s",
                    "count",
                ),
                _("Leads joined the default lead pool"),
                count="leads",
            ),
            AuditAction(
                "lead.import",
                ngettext_lazy(
                    "%(actor)s imported %(count)d lead from %(object)s",
                    "%(actor)s imported %(count)d leads from %(object)s",
                    "count",
                ),
                _("Leads imported"),
                count="created",
                children=True,
            ),
            AuditAction(
                "opportunity.create", _("%(actor)s created the opportunity %(object)s"), _("Opportunity created")
            ),
            AuditAction(
                "opportunity.update", _("%(actor)s changed the opportunity %(object)s"), _("Opportunity changed")
            ),
            AuditAction(
                "opportunity.move", _("%(actor)s moved the opportunity %(object)s to another stage"), _("Stage changed")
            ),
            AuditAction(
                "lead.export",
                ngettext_lazy("%(actor)s exported %(count)d lead", "%(actor)s exported %(count)d leads", "count"),
                _("Leads exported"),
                count="rows",
            ),
            AuditAction(
                "lead.export.download",
                ngettext_lazy(
                    "%(actor)s downloaded an export of %(count)d lead",
                    "%(actor)s downloaded an export of %(count)d leads",
                    "count",
                ),
                _("Lead export downloaded"),
                count="rows",
            ),
            AuditAction(
                "opportunity.export",
                ngettext_lazy(
                    "%(actor)s exported %(count)d opportunity", "%(actor)s exported %(count)d opportunities", "count"
                ),
                _("Opportunities exported"),
                count="rows",
            ),
            AuditAction(
                "opportunity.export.download",
                ngettext_lazy(
                    "%(actor)s downloaded an export of %(count)d opportunity",
                    "%(actor)s downloaded an export of %(count)d opportunities",
                    "count",
                ),
                _("Opportunity export downloaded"),
                count="rows",
            ),
            AuditAction("order.create", _("%(actor)s recorded the order %(object)s"), _("Order recorded")),
            AuditAction("order.void", _("%(actor)s voided the order %(object)s"), _("Order voided")),
            AuditAction(
                "order.approved",
                _("%(actor)s approved the discount of the order %(object)s"),
                _("Order discount approved"),
            ),
            AuditAction(
                "order.rejected",
                _("%(actor)s rejected the discount of the order %(object)s"),
                _("Order discount rejected"),
            ),
            AuditAction("contract.update", _("%(actor)s changed the contract %(object)s"), _("Contract changed")),
            AuditAction("task.create", _("%(actor)s created the task %(object)s"), _("Task created")),
            AuditAction("task.done", _("%(actor)s completed the task %(object)s"), _("Task done")),
        ):
            registry.add_audit_action(action)

        registry.add_export_kind(LeadExport)
        registry.add_export_kind(OpportunityExport)
        registry.add_api_resource(ApiResource(key="leads", prefix="leads", viewset=LeadViewSet, basename="lead"))
        registry.add_api_resource(
            ApiResource(key="opportunities", prefix="opportunities", viewset=OpportunityViewSet, basename="opportunity")
        )
        registry.add_api_resource(
            ApiResource(key="follow-ups", prefix="follow-ups", viewset=FollowUpViewSet, basename="followup")
        )
        registry.add_api_resource(ApiResource(key="tasks", prefix="tasks", viewset=TaskViewSet, basename="task"))
        registry.add_api_resource(ApiResource(key="orders", prefix="orders", viewset=OrderViewSet, basename="order"))
        registry.add_api_resource(
            ApiResource(key="products", prefix="products", viewset=ProductViewSet, basename="product")
        )
