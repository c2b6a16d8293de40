"""URLs of the customers app, mounted at the site root by crm/urls.py, in four namespaces: customers (/customers/),
pool (/pool/), pool_settings (/settings/pools/) and assignment (/settings/assignment/)."""

from django.urls import include, path

from crm.imports.views import ImportUploadView, LegacyImportRedirectView
from customers.views.assignment import (
    rule_apply,
    rule_create,
    rule_delete_view,
    rule_disable,
    rule_edit,
    rule_enable,
    rule_list,
    rule_move_view,
    settings_update,
)
from customers.views.choice_list import value_entry_edit, value_lists_view, value_map_view
from customers.views.contact import contact_delete_view, contact_edit, contact_list
from customers.views.customer import (
    customer_create_view,
    customer_delete,
    customer_detail,
    customer_edit,
    customer_list,
)
from customers.views.export import export, export_download, export_list
from customers.views.extension import extension_request_view, extensions
from customers.views.health import health_customers, pool_health_view
from customers.views.level import catalog_view, level_delete_view, level_edit, tag_delete_view, tag_edit
from customers.views.merge import merge
from customers.views.pool import assign, at_risk, claim, pool_customer, pool_list, release, release_bulk
from customers.views.pool_settings import (
    pool_settings_create,
    pool_settings_edit,
    pool_settings_list,
    pool_settings_simulate,
    view_quota_delete_view,
    view_quota_edit,
    view_quotas,
)
from customers.views.privacy import contact_erase_view, contact_personal_data_view, contact_reveal, privacy_log
from customers.views.share import customer_share_view, customer_unshare_view
from customers.views.transfer import customer_move_pool, customer_transfer_view
from customers.views.trash import restore, trash

customer_patterns = [
    path("", customer_list, name="list"),
    path("new/", customer_create_view, name="create"),
    path("transfer/", customer_transfer_view, name="transfer"),
    path("move-pool/", customer_move_pool, name="move_pool"),
    path("<int:pk>/", customer_detail, name="detail"),
    path("<int:pk>/edit/", customer_edit, name="edit"),
    path("<int:pk>/delete/", customer_delete, name="delete"),
    path("<int:pk>/contacts/new/", contact_edit, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/", contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", contact_delete_view, name="contact_delete"),
    path("<int:pk>/contacts/<int:contact_pk>/reveal/", contact_reveal, name="contact_reveal"),
    path(
        "<int:pk>/contacts/<int:contact_pk>/personal-data/",
        contact_personal_data_view,
        name="contact_personal_data",
    ),
    path("<int:pk>/contacts/<int:contact_pk>/erase/", contact_erase_view, name="contact_erase"),
    path("<int:pk>/share/", customer_share_view, name="share"),
    path("<int:pk>/share/<int:user_pk>/remove/", customer_unshare_view, name="unshare"),
    path("import/", ImportUploadView.as_view(kind="customer"), name="import"),
    path("import/contacts/", ImportUploadView.as_view(kind="contact"), name="contact_import"),
    # The customer import's own job pages before imports were one machine (crm.imports): bookmarks redirect.
    path("import/<int:pk>/", LegacyImportRedirectView.as_view(kind="customer"), name="import_legacy"),
    path("import/<int:pk>/<slug:step>/", LegacyImportRedirectView.as_view(kind="customer"), name="import_legacy_step"),
    path(
        "import/<int:pk>/rejected.csv",
        LegacyImportRedirectView.as_view(kind="customer"),
        {"step": "rejected"},
        name="import_legacy_rejected",
    ),
    path("export/", export, name="export"),
    path("exports/", export_list, name="exports"),
    path("exports/<int:pk>/download/", export_download, name="export_download"),
    path("trash/", trash, name="trash"),
    path("trash/<int:pk>/restore/", restore, name="restore"),
    path("<int:pk>/merge/", merge, name="merge"),
]

pool_patterns = [
    path("", pool_list, name="list"),
    path("<int:pk>/", pool_customer, name="customer"),
    path("<int:pk>/claim/", claim, name="claim"),
    path("assign/", assign, name="assign"),
    path("at-risk/", at_risk, name="at_risk"),
    path("health/", pool_health_view, name="health"),
    path("health/customers/", health_customers, name="health_customers"),
    path("extensions/", extensions, name="extensions"),
    path("customers/<int:pk>/release/", release, name="release"),
    path("customers/release/", release_bulk, name="release_bulk"),
    path("customers/<int:pk>/extension/", extension_request_view, name="extension_request"),
]

pool_settings_patterns = [
    path("", pool_settings_list, name="list"),
    path("new/", pool_settings_create, name="create"),
    path("<int:pk>/", pool_settings_edit, name="edit"),
    path("<int:pk>/simulate/", pool_settings_simulate, name="simulate"),
    path("view-quotas/", view_quotas, name="view_quotas"),
    path("view-quotas/<int:pk>/", view_quota_edit, name="view_quota_edit"),
    path("view-quotas/<int:pk>/delete/", view_quota_delete_view, name="view_quota_delete"),
]

assignment_patterns = [
    path("", rule_list, name="list"),
    path("settings/", settings_update, name="settings"),
    path("new/", rule_create, name="create"),
    path("<int:pk>/", rule_edit, name="edit"),
    path("<int:pk>/enable/", rule_enable, name="enable"),
    path("<int:pk>/disable/", rule_disable, name="disable"),
    path("<int:pk>/apply/", rule_apply, name="apply"),
    path("<int:pk>/move/", rule_move_view, name="move"),
    path("<int:pk>/delete/", rule_delete_view, name="delete"),
]

urlpatterns = [
    path("settings/privacy/", privacy_log, name="privacy_log"),
    path("settings/levels-and-tags/", catalog_view, name="customer_catalog"),
    path("settings/value-lists/", value_lists_view, name="value_lists"),
    path("settings/value-lists/entries/<int:pk>/", value_entry_edit, name="value_entry_edit"),
    path("settings/value-lists/map/", value_map_view, name="value_map"),
    path("settings/levels-and-tags/levels/<int:pk>/", level_edit, name="level_edit"),
    path("settings/levels-and-tags/levels/<int:pk>/delete/", level_delete_view, name="level_delete"),
    path("settings/levels-and-tags/tags/<int:pk>/", tag_edit, name="tag_edit"),
    path("settings/levels-and-tags/tags/<int:pk>/delete/", tag_delete_view, name="tag_delete"),
    path("settings/pools/", include((pool_settings_patterns, "pool_settings"))),
    path("settings/assignment/", include((assignment_patterns, "assignment"))),
    path("customers/", include((customer_patterns, "customers"))),
    path("contacts/", include(([path("", contact_list, name="list")], "contacts"))),
    path("pool/", include((pool_patterns, "pool"))),
]
