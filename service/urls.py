from django.urls import path

from service.views import attachment, desk_settings, inbound, public, survey, ticket

app_name = "service"

urlpatterns = [
    path("tickets/", ticket.ticket_list, name="ticket_list"),
    path("tickets/new/", ticket.ticket_create_view, name="ticket_create"),
    path("tickets/bulk/", ticket.ticket_bulk, name="ticket_bulk"),
    path("tickets/away/", ticket.presence_view, name="presence"),
    path("tickets/pickers/customers/", ticket.customer_options, name="customer_options"),
    path("tickets/pickers/contacts/", ticket.contact_options, name="contact_options"),
    path("tickets/files/<int:pk>/", attachment.attachment_download, name="attachment"),
    path("tickets/<int:pk>/", ticket.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/reply/", ticket.ticket_reply_view, name="ticket_reply"),
    path("tickets/<int:pk>/status/", ticket.ticket_status_view, name="ticket_status"),
    path("tickets/<int:pk>/edit/", ticket.ticket_edit, name="ticket_edit"),
    path("tickets/<int:pk>/assign/", ticket.ticket_assign_view, name="ticket_assign"),
    path("tickets/surveys/", survey.survey_results, name="survey_results"),
    path("tickets/surveys/nps/new/", survey.nps_round_create_view, name="nps_create"),
    path("s/<str:token>/", survey.survey_answer_view, name="survey_answer"),
    path("s/<str:token>/unsubscribe/", survey.survey_unsubscribe, name="survey_unsubscribe"),
    path("f/<slug:tenant>/ticket/", public.public_ticket_form, name="public_ticket"),
    path("f/<slug:tenant>/ticket/thanks/", public.public_ticket_thanks, name="public_ticket_thanks"),
    path("inbound/email/<slug:tenant>/", inbound.inbound_email, name="inbound_email"),
    path("settings/service/", desk_settings.desk_settings, name="settings"),
    path("settings/service/desk/", desk_settings.desk_settings_save, name="settings_save"),
    path("settings/service/categories/", desk_settings.category_create, name="category_create"),
    path("settings/service/categories/<int:pk>/toggle/", desk_settings.category_toggle, name="category_toggle"),
    path("settings/service/sla/", desk_settings.sla_policy_create, name="sla_create"),
    path("settings/service/sla/<int:pk>/", desk_settings.sla_policy_edit, name="sla_edit"),
    path("settings/service/sla/<int:pk>/delete/", desk_settings.sla_policy_remove, name="sla_delete"),
    path("settings/service/rules/new/", desk_settings.dispatch_rule_edit, name="rule_create"),
    path("settings/service/rules/<int:pk>/", desk_settings.dispatch_rule_edit, name="rule_edit"),
    path("settings/service/rules/<int:pk>/delete/", desk_settings.dispatch_rule_remove, name="rule_delete"),
    path("settings/service/rules/dry-run/", desk_settings.dispatch_dry_run_view, name="dry_run"),
    path("settings/service/rules/dry-run/apply/", desk_settings.dispatch_apply_view, name="dry_run_apply"),
    path("settings/service/canned/", desk_settings.canned_reply_create, name="canned_create"),
    path("settings/service/canned/<int:pk>/delete/", desk_settings.canned_reply_remove, name="canned_delete"),
]
