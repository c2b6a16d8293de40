from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from reports import audit_sentences

        audit_sentences.register()
        from django.db.models.signals import post_delete, post_save, pre_delete

        from crm.signals import tenant_updated
        from reports.services import facts_schedule, funnel_facts
        from sales.models import Opportunity, StageChange
        from sales.signals import opportunities_written

        # The funnel facts follow every opportunity and stage change written through the ORM (sales never imports
        # reports); rows written in bulk announce themselves (sales.signals), a new time zone rebuilds them all as a
        # job, and data older than the facts is caught up by the command rebuild_funnel_facts.
        post_save.connect(funnel_facts.on_opportunity_saved, sender=Opportunity, dispatch_uid="reports_facts_opp")
        post_save.connect(funnel_facts.on_stage_change_saved, sender=StageChange, dispatch_uid="reports_facts_sc")
        pre_delete.connect(funnel_facts.on_opportunity_deleting, sender=Opportunity, dispatch_uid="reports_facts_del")
        post_delete.connect(funnel_facts.on_opportunity_deleted, sender=Opportunity, dispatch_uid="reports_facts_gone")
        opportunities_written.connect(funnel_facts.on_opportunities_written, dispatch_uid="reports_facts_bulk")
        tenant_updated.connect(facts_schedule.on_tenant_updated, dispatch_uid="reports_facts_timezone")
        from crm.registry import HomeWidget, NavEntry, registry, roles_any
        from reports import widgets
        from reports.imports import TargetKind

        registry.add_import_kind(TargetKind)

        leaders = roles_any("admin", "manager")
        registry.add_nav(
            NavEntry(
                key="reports",
                label=_("Reports"),
                url_name="reports:funnel",
                order=60,
                visible=leaders,
                active_prefix="reports:",
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="month_target",
                template="reports/widgets/month_target.html",
                order=4,
                visible=leaders,
                context=widgets.month_target,
                width="col-lg-4",
            )
        )
