"""URLs of the sales app, mounted at the site root: follow-ups, tasks and reminders, calendar, orders; leads (with
their import and the public web form), opportunities and the board; the settings of pipelines, lead scoring and
the web form."""

from django.urls import path

from crm.imports.views import ImportUploadView, LegacyImportRedirectView

from . import views, views_leads, views_pipeline, views_public

app_name = "sales"

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="task_reopen"),
    path("followups/", views.followup_list, name="followup_list"),
    path("followups/customer/<int:customer_pk>/", views.followup_create, name="followup_create"),
    path("followups/<int:pk>/edit/", views.followup_edit, name="followup_edit"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/appointments/new/", views.appointment_create, name="appointment_create"),
    path("calendar/appointments/<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("calendar/appointments/<int:pk>/edit/", views.appointment_edit, name="appointment_edit"),
    path("calendar/appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/void/", views.order_void, name="order_void"),
    path("pickers/customers/", views.customer_options, name="customer_options"),
    path("pickers/contacts/", views.contact_options, name="contact_options"),
    # Leads
    path("leads/", views_leads.lead_list, name="lead_list"),
    path("leads/new/", views_leads.lead_create, name="lead_create"),
    path("leads/assign/", views_leads.lead_bulk_assign, name="lead_bulk_assign"),
    path("leads/<int:pk>/", views_leads.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", views_leads.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/status/", views_leads.lead_status, name="lead_status"),
    path("leads/<int:pk>/assign/", views_leads.lead_assign, name="lead_assign"),
    path("leads/<int:pk>/convert/", views_leads.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/followups/", views_leads.lead_followup, name="lead_followup"),
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
    path("f/<slug:tenant>/lead/", views_public.public_lead_form, name="public_lead_form"),
    path("f/<slug:tenant>/lead/thanks/", views_public.public_lead_thanks, name="public_lead_thanks"),
    # Opportunities
    path("opportunities/", views_pipeline.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views_pipeline.opportunity_create, name="opportunity_create"),
    path("opportunities/board/", views_pipeline.opportunity_board, name="opportunity_board"),
    path("opportunities/<int:pk>/", views_pipeline.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views_pipeline.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views_pipeline.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/followups/", views_pipeline.opportunity_followup, name="opportunity_followup"),
    # Settings (admins)
    path("settings/pipelines/", views_pipeline.pipeline_settings, name="pipeline_settings"),
    path("settings/pipelines/<int:pk>/", views_pipeline.pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/delete/", views_pipeline.pipeline_delete, name="pipeline_delete"),
    path("settings/pipelines/stages/<int:pk>/", views_pipeline.stage_edit, name="stage_edit"),
    path("settings/pipelines/stages/<int:pk>/move/", views_pipeline.stage_move, name="stage_move"),
    path("settings/pipelines/stages/<int:pk>/delete/", views_pipeline.stage_delete, name="stage_delete"),
    path("settings/lead-scoring/", views_leads.scoring_rules, name="scoring_rules"),
    path("settings/lead-scoring/recompute/", views_leads.scoring_recompute, name="scoring_recompute"),
    path("settings/lead-scoring/<int:pk>/", views_leads.scoring_rule_edit, name="scoring_rule_edit"),
    path("settings/lead-scoring/<int:pk>/delete/", views_leads.scoring_rule_delete, name="scoring_rule_delete"),
    path("settings/lead-form/", views_leads.web_form_settings, name="web_form_settings"),
]
