from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkCalendarConfig(AppConfig):
    name = "crm.workcalendar"
    label = "workcalendar"
    verbose_name = _("Working calendar")

    def ready(self) -> None:
        from crm.registry import SettingsPage, registry

        registry.add_settings_page(
            SettingsPage(
                key="workcalendar",
                label=_("Working calendar"),
                description=_("Working days and hours, the lunch break, holidays and make-up working days."),
                url_name="workcalendar:settings",
                order=30,
            )
        )
