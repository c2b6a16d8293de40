from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "crm.jobs"
    label = "jobs"
    verbose_name = _("Background jobs")

    def ready(self) -> None:
        from crm.registry import SettingsPage, registry

        registry.add_settings_page(
            SettingsPage(
                key="jobs",
                label=_("Background jobs"),
                description=_(
                    "What the CRM does for your company in the background: last run, duration, result, failures."
                ),
                url_name="jobs:list",
                order=90,
            )
        )
