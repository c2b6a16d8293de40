from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class ServiceConfig(AppConfig):
    name = "service"
    verbose_name = _("Service")

    def ready(self) -> None:
        from service import audit_sentences

        audit_sentences.register()
        from crm.registry import (
            ApiResource,
            CustomerPanel,
            HomeWidget,
            NavEntry,
            NavGroup,
            PersonalDataHolder,
            SettingsPage,
            registry,
            roles_any,
        )
        from crm.services import outbox
        from crm.workcalendar.signals import calendar_changed
        from service import tasks, widgets
        from service.api import TicketViewSet
        from service.exports.ticket import TicketExport
        from service.services.erasure import service_personal_data_erase, service_personal_data_export
        from service.services.survey import survey_personal_data_erase, survey_personal_data_export

        def on_calendar_changed(sender, tenant, **kwargs):
            outbox.enqueue(tasks.recompute_deadlines, tenant.pk)

        calendar_changed.connect(on_calendar_changed, dispatch_uid="service.recompute_deadlines", weak=False)

        registry.add_nav_group(NavGroup(key="service", label=_("Service"), order=50))
        registry.add_nav(
            NavEntry(
                key="tickets",
                group="service",
                label=_("Service desk"),
                url_name="service:ticket_list",
                order=50,
                visible=roles_any("admin", "manager", "agent"),
                active_prefix="service:",
            )
        )
        registry.add_nav(
            NavEntry(
                key="kb",
                label=_("Knowledge base"),
                group="service",
                url_name="service:kb_list",
                order=55,
                active_prefix="service:kb_",
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="service_desk",
                label=_("Service desk"),
                description=_("Ticket categories, SLA targets, dispatch rules (with a dry run) and canned replies."),
                url_name="service:settings",
                order=60,
            )
        )
        registry.add_personal_data_holder(
            PersonalDataHolder(key="service", erase=service_personal_data_erase, export=service_personal_data_export)
        )
        registry.add_personal_data_holder(
            PersonalDataHolder(
                key="service_surveys", erase=survey_personal_data_erase, export=survey_personal_data_export, order=110
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="tickets",
                label=_("Tickets"),
                template="service/panels/tickets.html",
                order=25,
                context=widgets.tickets_panel_context,
            )
        )
        # An agent's day starts from their tickets: their own open ones, those breaching soon, those unassigned.
        registry.add_home_widget(
            HomeWidget(
                key="my_tickets",
                template="service/widgets/my_tickets.html",
                order=6,
                visible=roles_any("agent"),
                context=widgets.my_tickets,
                width="col-lg-8",
            )
        )

        from crm.registry import AuditAction, AuditKind, ReportFigure
        from service.selectors.survey import csat_figure

        registry.add_audit_kind(AuditKind("ticket", _("Tickets"), "service.ticket", "service:ticket_detail", order=30))
        for action in (
            AuditAction("ticket.create", _("%(actor)s opened the ticket %(object)s"), _("Ticket opened")),
            AuditAction(
                "ticket.assign",
                _("%(actor)s assigned the ticket %(object)s to %(user)s"),
                _("Ticket assigned"),
                user="to",
            ),
            AuditAction(
                "ticket.status", _("%(actor)s changed the status of the ticket %(object)s"), _("Ticket status")
            ),
            AuditAction("ticket.reply", _("%(actor)s replied on the ticket %(object)s"), _("Ticket reply")),
            AuditAction("ticket.update", _("%(actor)s changed the ticket %(object)s"), _("Ticket changed")),
            AuditAction(
                "ticket.export",
                ngettext_lazy("%(actor)s exported %(count)d ticket", "%(actor)s exported %(count)d tickets", "count"),
                _("Tickets exported"),
                count="rows",
            ),
            AuditAction(
                "ticket.export.download",
                ngettext_lazy(
                    "%(actor)s downloaded an export of %(count)d ticket",
                    "%(actor)s downloaded an export of %(count)d tickets",
                    "count",
                ),
                _("Ticket export downloaded"),
                count="rows",
            ),
        ):
            registry.add_audit_action(action)

        registry.add_audit_kind(
            AuditKind("article", _("Knowledge base"), "service.article", "service:kb_detail", order=31)
        )
        for action in (
            AuditAction("article.create", _("%(actor)s wrote the article %(object)s"), _("Article written")),
            AuditAction("article.update", _("%(actor)s changed the article %(object)s"), _("Article changed")),
            AuditAction(
                "article.restore",
                _("%(actor)s restored an older version of the article %(object)s"),
                _("Article restored"),
            ),
            AuditAction(
                "article.category", _("%(actor)s added the knowledge-base category %(object)s"), _("Article category")
            ),
        ):
            registry.add_audit_action(action)
        for action in (
            AuditAction(
                "survey.answer", _("The customer rated the ticket %(object)s"), _("Satisfaction survey answered")
            ),
            AuditAction("nps.create", _("%(actor)s sent the NPS survey %(object)s"), _("NPS survey sent")),
            AuditAction("nps.answer", _("A customer answered the NPS survey %(object)s"), _("NPS survey answered")),
        ):
            registry.add_audit_action(action)
        registry.add_report_figure(
            ReportFigure(
                key="csat",
                label=_("Customer satisfaction (CSAT)"),
                template="service/survey/partials/report_figure.html",
                value=csat_figure,
                order=50,
                visible=roles_any("admin", "manager", "agent"),
            )
        )

        registry.add_export_kind(TicketExport)
        registry.add_api_resource(
            ApiResource(key="tickets", prefix="tickets", viewset=TicketViewSet, basename="ticket")
        )
