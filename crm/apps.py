from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM core")

    def ready(self) -> None:
        from crm import audit_sentences

        audit_sentences.register()
        from django.db.models.signals import post_migrate

        from . import rls, widgets

        post_migrate.connect(rls.sync_after_migrate, sender=self, dispatch_uid="crm.rls.after_migrate")
        from .registry import HomeWidget, NavEntry, SettingsPage, registry, roles_any

        registry.add_nav(NavEntry(key="home", label=_("Home"), url_name="home", order=0, active_prefix="home"))
        registry.add_nav(
            NavEntry(
                key="settings", label=_("Settings"), url_name="settings:index", order=900, visible=roles_any("admin")
            )
        )

        registry.add_settings_page(
            SettingsPage(
                key="company",
                label=_("Company"),
                description=_("Name, time zone, language and currency of your company."),
                url_name="settings:tenant",
                order=0,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="users",
                label=_("Users"),
                description=_("Invite colleagues, give them roles and a team, deactivate those who leave."),
                url_name="settings:users",
                order=10,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="exchange_rates",
                label=_("Exchange rates"),
                description=_("Monthly rates of other currencies, for reports and campaign figures."),
                url_name="settings:exchange_rates",
                order=5,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="robots",
                label=_("Group robots"),
                description=_("WeCom, DingTalk and Feishu group robots that post chosen notifications."),
                url_name="settings:robots",
                order=55,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="teams",
                label=_("Teams"),
                description=_("The team tree and who manages each team."),
                url_name="settings:teams",
                order=20,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="audit",
                label=_("Audit log"),
                description=_("Every change that matters: who did what, and when."),
                url_name="settings:audit",
                order=900,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="messages",
                label=_("Outgoing messages"),
                description=_("Emails and text messages the CRM sent or tried to send."),
                url_name="settings:messages",
                order=910,
            )
        )

        registry.add_home_widget(
            HomeWidget(
                key="profile", template="crm/widgets/profile.html", order=0, context=widgets.profile, width="col-lg-4"
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="admin_overview",
                template="crm/widgets/admin_overview.html",
                order=10,
                visible=roles_any("admin"),
                context=widgets.admin_overview,
                width="col-lg-8",
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="my_teams",
                template="crm/widgets/my_teams.html",
                order=20,
                visible=roles_any("manager"),
                context=widgets.my_teams,
                width="col-lg-8",
            )
        )
        registry.add_home_widget(
            HomeWidget(
                key="notifications",
                template="crm/widgets/notifications.html",
                order=50,
                context=widgets.latest_notifications,
                width="col-lg-6",
            )
        )

        from .registry import AuditAction, AuditKind

        registry.add_audit_kind(AuditKind("user", _("Users"), "crm.user", "settings:user_edit", order=80))
        registry.add_audit_kind(AuditKind("team", _("Teams"), "crm.team", "settings:team_edit", order=81))
        registry.add_audit_kind(AuditKind("tenant", _("Company"), "crm.tenant", order=82))
        registry.add_audit_kind(AuditKind("import", _("Imports"), "imports.importjob", "imports:detail", order=83))
        for action in (
            AuditAction("user.create", _("%(actor)s added the user %(object)s"), _("User added")),
            AuditAction("user.update", _("%(actor)s changed the user %(object)s"), _("User changed")),
            AuditAction("user.activate", _("%(actor)s reactivated the user %(object)s"), _("User reactivated")),
            AuditAction("user.deactivate", _("%(actor)s deactivated the user %(object)s"), _("User deactivated")),
            AuditAction(
                "user.two_factor_on", _("%(actor)s turned on two-step sign-in"), _("Two-step sign-in turned on")
            ),
            AuditAction(
                "user.two_factor_off",
                _("%(actor)s turned off two-step sign-in for %(object)s"),
                _("Two-step sign-in turned off"),
            ),
            AuditAction("team.create", _("%(actor)s created the team %(object)s"), _("Team created")),
            AuditAction("team.update", _("%(actor)s changed the team %(object)s"), _("Team changed")),
            AuditAction("tenant.update", _("%(actor)s changed the company's settings"), _("Company settings changed")),
            AuditAction("tenant.logo", _("%(actor)s changed the company's logo"), _("Company logo changed")),
            AuditAction(
                "approval.supersede",
                _("%(actor)s changed what %(object)s asked about; the request is closed"),
                _("Approval request superseded"),
            ),
        ):
            registry.add_audit_action(action)


class OperatorAdminConfig(admin_apps.AdminConfig):
    """Django admin, with the operators' site that names the company whose data it shows (crm/admin_site.py)."""

    default = False  # crm's own app is CrmConfig; INSTALLED_APPS names this one
    default_site = "crm.admin_site.OperatorAdminSite"
