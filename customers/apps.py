from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers import audit_sentences

        audit_sentences.register()
        from crm.access import SALES_ROLES
        from crm.registry import (
            ApiResource,
            CustomerPanel,
            HomeWidget,
            MarketingConsent,
            NavEntry,
            SearchSource,
            SettingsPage,
            registry,
            roles_any,
        )
        from crm.services import outbox
        from crm.signals import tenant_created, user_deactivated
        from crm.workcalendar.signals import calendar_changed
        from customers import tasks, widgets
        from customers.access import can_export
        from customers.api import ContactViewSet, CustomerViewSet
        from customers.exports.customer import CustomerExport
        from customers.imports.contact import ContactKind
        from customers.imports.customer import CustomerKind
        from customers.selectors.consent import marketing_refusals
        from customers.selectors.search import contact_hits, customer_hits
        from customers.services.extension import extension_policy
        from customers.services.pool import release_all_of
        from customers.services.tenant import tenant_defaults

        def on_tenant_created(sender, tenant, **kwargs):
            tenant_defaults(tenant=tenant)

        tenant_created.connect(on_tenant_created, dispatch_uid="customers.tenant_defaults", weak=False)

        def on_calendar_changed(sender, tenant, **kwargs):
            # Local days moved (the company's time zone): the stored fall-back moments are recomputed.
            outbox.enqueue(tasks.fallback_dates_for_tenant, tenant.pk)

        calendar_changed.connect(on_calendar_changed, dispatch_uid="customers.fallback_dates", weak=False)

        def on_user_deactivated(sender, user, acting_user=None, **kwargs):
            release_all_of(user=user, acting_user=acting_user)

        user_deactivated.connect(on_user_deactivated, dispatch_uid="customers.release_deactivated", weak=False)

        registry.add_approval_policy(extension_policy())
        registry.add_marketing_consent(MarketingConsent("customers.contact", marketing_refusals))
        registry.add_import_kind(CustomerKind)
        registry.add_import_kind(ContactKind)
        registry.add_export_kind(CustomerExport)

        # Every kind of export (customers, leads, opportunities, tickets) is listed on the one page of one's exports.
        registry.add_user_menu_entry(
            NavEntry(key="exports", label=_("My exports"), url_name="customers:exports", visible=can_export)
        )
        registry.add_nav(NavEntry(key="customers", label=_("Customers"), url_name="customers:list", order=10))
        registry.add_nav(NavEntry(key="contacts", label=_("Contacts"), url_name="contacts:list", order=12))
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
                key="customer_catalog",
                label=_("Customer levels and tags"),
                description=_("The levels customers are graded by (with the aliases imports know) and their tags."),
                url_name="customer_catalog",
                order=32,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="value_lists",
                label=_("Value lists"),
                description=_("The regions, industries and sources customers and leads choose from."),
                url_name="value_lists",
                order=33,
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
        registry.add_search_source(
            SearchSource(
                key="customers", label=_("Customers"), search=customer_hits, order=10, visible=roles_any(*SALES_ROLES)
            )
        )
        registry.add_search_source(
            SearchSource(
                key="contacts", label=_("Contacts"), search=contact_hits, order=20, visible=roles_any(*SALES_ROLES)
            )
        )

        from crm.registry import AuditAction, AuditKind

        registry.add_audit_kind(AuditKind("customer", _("Customers"), "customers.customer", "customers:detail", 10))
        registry.add_audit_kind(AuditKind("contact", _("Contacts"), "customers.contact", order=11))
        registry.add_audit_kind(AuditKind("pool", _("Public pool"), "customers.pool", order=12))
        registry.add_audit_kind(
            AuditKind("level", _("Customer levels"), "customers.customerlevel", "level_edit", order=13)
        )
        registry.add_audit_kind(AuditKind("tag", _("Tags"), "customers.tag", "tag_edit", order=14))
        registry.add_audit_kind(
            AuditKind("choice", _("List values"), "customers.choiceentry", "value_entry_edit", order=15)
        )
        registry.add_audit_kind(AuditKind("choice_list", _("Value lists"), "customers.choicelist", order=16))
        registry.add_audit_kind(
            AuditKind("view_quota", _("View quotas"), "customers.viewquota", "pool_settings:view_quota_edit", order=17)
        )
        for action in (
            AuditAction("customer.create", _("%(actor)s created the customer %(object)s"), _("Customer created")),
            AuditAction("customer.update", _("%(actor)s changed the customer %(object)s"), _("Customer changed")),
            AuditAction("customer.claim", _("%(actor)s claimed %(object)s from the pool"), _("Customer claimed")),
            AuditAction(
                "customer.release",
                _("%(actor)s released %(object)s to the pool: %(text)s"),
                _("Customer released"),
                text="reason",
            ),
            AuditAction(
                "customer.assign",
                ngettext_lazy(
                    "%(actor)s assigned %(count)d pool customer to %(user)s",
                    "%(actor)s assigned %(count)d pool customers to %(user)s",
                    "count",
                ),
                _("Pool customers assigned"),
                items="customers",
                items_kind="customer",
                user="rep",
            ),
            AuditAction(
                "customer.transfer",
                ngettext_lazy(
                    "%(actor)s transferred %(count)d customer to %(user)s: %(text)s",
                    "%(actor)s transferred %(count)d customers to %(user)s: %(text)s",
                    "count",
                ),
                _("Customers transferred"),
                items="customers",
                items_kind="customer",
                user="to",
                text="reason",
            ),
            AuditAction(
                "customer.move_pool",
                ngettext_lazy(
                    "%(actor)s moved %(count)d customer to the pool %(object)s",
                    "%(actor)s moved %(count)d customers to the pool %(object)s",
                    "count",
                ),
                _("Customers moved to another pool"),
                items="customers",
                items_kind="customer",
            ),
            AuditAction("customer.trash", _("%(actor)s moved %(object)s to the recycle bin"), _("Customer binned")),
            AuditAction(
                "customer.restore", _("%(actor)s restored %(object)s from the recycle bin"), _("Customer restored")
            ),
            AuditAction("customer.purge", _("%(actor)s deleted %(object)s for good"), _("Customer deleted for good")),
            AuditAction(
                "trash.purge",
                ngettext_lazy(
                    "%(count)d customer in the recycle bin was deleted for good",
                    "%(count)d customers in the recycle bin were deleted for good",
                    "count",
                ),
                _("Recycle bin emptied"),
                items="items",
                items_kind="customer",
            ),
            AuditAction("customer.merge", _("%(actor)s merged a duplicate into %(object)s"), _("Customers merged")),
            AuditAction(
                "customer.share", _("%(actor)s shared %(object)s with %(user)s"), _("Customer shared"), user="user"
            ),
            AuditAction(
                "customer.unshare",
                _("%(actor)s stopped sharing %(object)s with %(user)s"),
                _("Customer no longer shared"),
                user="user",
            ),
            AuditAction(
                "customer.import",
                ngettext_lazy(
                    "%(actor)s imported %(count)d customer from %(object)s",
                    "%(actor)s imported %(count)d customers from %(object)s",
                    "count",
                ),
                _("Customers imported"),
                count="created",
                children=True,
            ),
            AuditAction(
                "customer.export",
                ngettext_lazy(
                    "%(actor)s exported %(count)d customer", "%(actor)s exported %(count)d customers", "count"
                ),
                _("Customers exported"),
                count="rows",
            ),
            AuditAction(
                "pool.fallback",
                ngettext_lazy(
                    "%(count)d customer fell back to the pool", "%(count)d customers fell back to the pool", "count"
                ),
                _("Customers fell back to the pool"),
                count="customers",
            ),
            AuditAction("level.create", _("%(actor)s added the customer level %(object)s"), _("Level added")),
            AuditAction("level.update", _("%(actor)s changed the customer level %(object)s"), _("Level changed")),
            AuditAction("level.delete", _("%(actor)s removed the customer level %(object)s"), _("Level removed")),
            AuditAction(
                "view_quota.save",
                _("%(actor)s set the daily view quota %(object)s"),
                _("View quota set"),
            ),
            AuditAction(
                "view_quota.delete",
                _("%(actor)s removed the daily view quota %(object)s"),
                _("View quota removed"),
            ),
            AuditAction("tag.create", _("%(actor)s added the tag %(object)s"), _("Tag added")),
            AuditAction("choice.create", _("%(actor)s added %(object)s to a value list"), _("List value added")),
            AuditAction("choice.update", _("%(actor)s changed the list value %(object)s"), _("List value changed")),
            AuditAction(
                "choice.map",
                _("%(actor)s mapped “%(text)s” to %(object)s on %(count)s customers"),
                _("Values mapped to a list"),
                text="from",
                count="customers",
            ),
            AuditAction(
                "choice_list.update",
                _("%(actor)s changed whether the %(object)s list accepts other values"),
                _("Value list changed"),
            ),
            AuditAction("tag.update", _("%(actor)s changed the tag %(object)s"), _("Tag changed")),
            AuditAction("tag.delete", _("%(actor)s removed the tag %(object)s"), _("Tag removed")),
            AuditAction("contact.create", _("%(actor)s added the contact %(object)s"), _("Contact added")),
            AuditAction("contact.update", _("%(actor)s changed the contact %(object)s"), _("Contact changed")),
            AuditAction("contact.delete", _("%(actor)s deleted the contact %(object)s"), _("Contact deleted")),
            AuditAction(
                "contact.erase", _("%(actor)s erased the personal data of %(object)s"), _("Personal data erased")
            ),
            AuditAction(
                "contact.import",
                ngettext_lazy(
                    "%(actor)s imported %(count)d contact from %(object)s",
                    "%(actor)s imported %(count)d contacts from %(object)s",
                    "count",
                ),
                _("Contacts imported"),
                count="created",
                children=True,
            ),
        ):
            registry.add_audit_action(action)

        registry.add_api_resource(
            ApiResource(key="customers", prefix="customers", viewset=CustomerViewSet, basename="customer")
        )
        registry.add_api_resource(
            ApiResource(key="contacts", prefix="contacts", viewset=ContactViewSet, basename="contact")
        )
