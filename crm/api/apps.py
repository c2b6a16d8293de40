from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "crm.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from crm.api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
        from crm.registry import SettingsPage, any_tenant_user, registry

        registry.add_settings_page(
            SettingsPage(
                key="api_tokens",
                label=_("API tokens"),
                description=_("Personal tokens with which other systems use the CRM's REST API on your behalf."),
                url_name="api:tokens",
                order=85,
                visible=any_tenant_user,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="webhooks",
                label=_("Webhooks"),
                description=_("Tell other systems when customers, leads, opportunities or tickets change."),
                url_name="api:webhooks",
                order=86,
            )
        )
        registry.add_settings_page(
            SettingsPage(
                key="custom_fields",
                label=_("Custom fields"),
                description=_(
                    "Fields of your own on customers, contacts, leads, opportunities and tickets: shown on their "
                    "forms and pages, in the API and as list filters."
                ),
                url_name="api:custom_fields",
                order=60,
            )
        )
