"""URLs of the sales app, mounted at the site root: follow-ups, tasks and reminders, calendar, orders; leads (with
their import and the public web form), opportunities and the board; the settings of pipelines, lead scoring and
the web form."""

from django.urls import path

from crm.imports.views import ImportUploadView, LegacyImportRedirectView
from customers.views.export import export
from sales.views.appointment import appointment_cancel_view, appointment_create, appointment_detail, appointment_edit
from sales.views.board import opportunity_board, opportunity_move_view
from sales.views.calendar import calendar
from sales.views.contract import (
    contract_attach_view,
    contract_attachment,
    contract_detail,
    contract_edit,
    contract_from_quote,
    contract_list,
    contract_pdf_view,
    contract_plan,
    contract_receipt,
    contract_status_view,
    contract_submit_view,
)
from sales.views.conversion import lead_convert_view
from sales.views.followup import followup_create, followup_edit, followup_list
from sales.views.lead import (
    lead_assign_view,
    lead_bulk_assign,
    lead_create_view,
    lead_detail,
    lead_edit,
    lead_followup,
    lead_list,
    lead_reveal,
    lead_status,
)
from sales.views.lead_pool import (
    lead_extension_request_view,
    lead_extensions,
    lead_pool_assign_view,
    lead_pool_claim,
    lead_pool_detail,
    lead_pool_list,
    lead_pool_settings,
    lead_pool_settings_create,
    lead_pool_settings_edit,
    lead_pool_settings_simulate,
    lead_release_view,
)
from sales.views.lead_scoring import scoring_recompute, scoring_rule_delete_view, scoring_rule_edit, scoring_rules
from sales.views.opportunity import (
    opportunity_create_view,
    opportunity_detail,
    opportunity_edit,
    opportunity_followup,
    opportunity_list,
)
from sales.views.order import order_create_view, order_detail, order_list, order_void_view
from sales.views.picker import contact_options, customer_options
from sales.views.pipeline import (
    pipeline_delete_view,
    pipeline_edit,
    pipeline_settings,
    stage_delete,
    stage_edit,
    stage_move_view,
)
from sales.views.product import product_edit, product_list
from sales.views.public import public_lead_embed, public_lead_embed_thanks, public_lead_form, public_lead_thanks
from sales.views.quote import (
    quote_close_view,
    quote_create_view,
    quote_detail,
    quote_edit,
    quote_list,
    quote_pdf_view,
    quote_revise_view,
    quote_send_view,
    quote_settings_view,
    quote_submit_view,
)
from sales.views.receivables import receivable_instalments, receivables_view
from sales.views.task import task_create_view, task_detail, task_done, task_edit, task_list, task_reopen
from sales.views.web_form import web_form_qr, web_form_settings

app_name = "sales"

urlpatterns = [
    path("tasks/", task_list, name="task_list"),
    path("tasks/new/", task_create_view, name="task_create"),
    path("tasks/<int:pk>/", task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", task_edit, name="task_edit"),
    path("tasks/<int:pk>/done/", task_done, name="task_done"),
    path("tasks/<int:pk>/reopen/", task_reopen, name="task_reopen"),
    path("followups/", followup_list, name="followup_list"),
    path("followups/customer/<int:customer_pk>/", followup_create, name="followup_create"),
    path("followups/<int:pk>/edit/", followup_edit, name="followup_edit"),
    path("calendar/", calendar, name="calendar"),
    path("calendar/appointments/new/", appointment_create, name="appointment_create"),
    path("calendar/appointments/<int:pk>/", appointment_detail, name="appointment_detail"),
    path("calendar/appointments/<int:pk>/edit/", appointment_edit, name="appointment_edit"),
    path("calendar/appointments/<int:pk>/cancel/", appointment_cancel_view, name="appointment_cancel"),
    path("orders/", order_list, name="order_list"),
    path("orders/new/", order_create_view, name="order_create"),
    path("orders/<int:pk>/", order_detail, name="order_detail"),
    path("orders/<int:pk>/void/", order_void_view, name="order_void"),
    path("pickers/customers/", customer_options, name="customer_options"),
    path("pickers/contacts/", contact_options, name="contact_options"),
    # Leads
    path("leads/", lead_list, name="lead_list"),
    path("leads/new/", lead_create_view, name="lead_create"),
    path("leads/export/", export, {"kind": "lead"}, name="lead_export"),
    path("leads/assign/", lead_bulk_assign, name="lead_bulk_assign"),
    path("leads/<int:pk>/", lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", lead_edit, name="lead_edit"),
    path("leads/<int:pk>/status/", lead_status, name="lead_status"),
    path("leads/<int:pk>/assign/", lead_assign_view, name="lead_assign"),
    path("leads/<int:pk>/convert/", lead_convert_view, name="lead_convert"),
    path("leads/<int:pk>/followups/", lead_followup, name="lead_followup"),
    path("leads/<int:pk>/reveal/", lead_reveal, name="lead_reveal"),
    path("leads/<int:pk>/release/", lead_release_view, name="lead_release"),
    path("leads/<int:pk>/extension/", lead_extension_request_view, name="lead_extension_request"),
    path("lead-pools/", lead_pool_list, name="lead_pool_list"),
    path("lead-pools/<int:pk>/", lead_pool_detail, name="lead_pool_detail"),
    path("lead-pools/extensions/", lead_extensions, name="lead_extensions"),
    path("lead-pools/<int:pk>/assign/", lead_pool_assign_view, name="lead_pool_assign"),
    path("lead-pools/leads/<int:pk>/claim/", lead_pool_claim, name="lead_pool_claim"),
    path("leads/import/", ImportUploadView.as_view(kind="lead"), name="lead_import"),
    # The lead import's own job pages before imports were one machine (crm.imports): bookmarks redirect.
    path("leads/import/<int:pk>/", LegacyImportRedirectView.as_view(kind="lead"), name="lead_import_legacy"),
    path(
        "leads/import/<int:pk>/<slug:step>/",
        LegacyImportRedirectView.as_view(kind="lead"),
        name="lead_import_legacy_step",
    ),
    path(
        "leads/import/<int:pk>/rejected.csv",
        LegacyImportRedirectView.as_view(kind="lead"),
        {"step": "rejected"},
        name="lead_import_legacy_rejected",
    ),
    # The public web form of a tenant (no login)
    path("f/<slug:tenant>/lead/", public_lead_form, name="public_lead_form"),
    path("f/<slug:tenant>/lead/thanks/", public_lead_thanks, name="public_lead_thanks"),
    path("f/<slug:tenant>/lead/embed/", public_lead_embed, name="public_lead_embed"),
    path("f/<slug:tenant>/lead/embed/thanks/", public_lead_embed_thanks, name="public_lead_embed_thanks"),
    # Opportunities
    path("opportunities/", opportunity_list, name="opportunity_list"),
    path("opportunities/new/", opportunity_create_view, name="opportunity_create"),
    path("opportunities/export/", export, {"kind": "opportunity"}, name="opportunity_export"),
    path("opportunities/board/", opportunity_board, name="opportunity_board"),
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", opportunity_move_view, name="opportunity_move"),
    path("opportunities/<int:pk>/followups/", opportunity_followup, name="opportunity_followup"),
    # The product catalogue
    path("products/", product_list, name="product_list"),
    path("products/new/", product_edit, name="product_create"),
    path("products/<int:pk>/", product_edit, name="product_edit"),
    path("products/import/", ImportUploadView.as_view(kind="product"), name="product_import"),
    # Quotes
    path("quotes/", quote_list, name="quote_list"),
    path("opportunities/<int:opportunity_pk>/quotes/new/", quote_create_view, name="quote_create"),
    path("quotes/<int:pk>/", quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/submit/", quote_submit_view, name="quote_submit"),
    path("quotes/<int:pk>/send/", quote_send_view, name="quote_send"),
    path("quotes/<int:pk>/close/", quote_close_view, name="quote_close"),
    path("quotes/<int:pk>/revise/", quote_revise_view, name="quote_revise"),
    path("quotes/<int:pk>/pdf/", quote_pdf_view, name="quote_pdf"),
    path("quotes/<int:pk>/contract/", contract_from_quote, name="contract_from_quote"),
    # Contracts and payment collection
    path("contracts/", contract_list, name="contract_list"),
    path("contracts/<int:pk>/", contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/pdf/", contract_pdf_view, name="contract_pdf"),
    path("contracts/<int:pk>/edit/", contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/submit/", contract_submit_view, name="contract_submit"),
    path("contracts/<int:pk>/status/", contract_status_view, name="contract_status"),
    path("contracts/<int:pk>/plan/", contract_plan, name="contract_plan"),
    path("contracts/<int:pk>/receipts/", contract_receipt, name="contract_receipt"),
    path("contracts/<int:pk>/files/", contract_attach_view, name="contract_attach"),
    path("contracts/files/<int:pk>/", contract_attachment, name="contract_attachment"),
    path("receivables/", receivables_view, name="receivables"),
    path("receivables/instalments/", receivable_instalments, name="receivable_instalments"),
    # Settings (admins)
    path("settings/quotes/", quote_settings_view, name="quote_settings"),
    path("settings/pipelines/", pipeline_settings, name="pipeline_settings"),
    path("settings/pipelines/<int:pk>/", pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/delete/", pipeline_delete_view, name="pipeline_delete"),
    path("settings/pipelines/stages/<int:pk>/", stage_edit, name="stage_edit"),
    path("settings/pipelines/stages/<int:pk>/move/", stage_move_view, name="stage_move"),
    path("settings/pipelines/stages/<int:pk>/delete/", stage_delete, name="stage_delete"),
    path("settings/lead-pools/", lead_pool_settings, name="lead_pool_settings"),
    path("settings/lead-pools/new/", lead_pool_settings_create, name="lead_pool_settings_create"),
    path("settings/lead-pools/<int:pk>/", lead_pool_settings_edit, name="lead_pool_settings_edit"),
    path("settings/lead-pools/<int:pk>/simulate/", lead_pool_settings_simulate, name="lead_pool_settings_simulate"),
    path("settings/lead-scoring/", scoring_rules, name="scoring_rules"),
    path("settings/lead-scoring/recompute/", scoring_recompute, name="scoring_recompute"),
    path("settings/lead-scoring/<int:pk>/", scoring_rule_edit, name="scoring_rule_edit"),
    path("settings/lead-scoring/<int:pk>/delete/", scoring_rule_delete_view, name="scoring_rule_delete"),
    path("settings/lead-form/", web_form_settings, name="web_form_settings"),
    path("settings/lead-form/qr/", web_form_qr, name="web_form_qr"),
]
