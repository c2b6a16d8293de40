from django.urls import path

from crm.imports.views import ImportUploadView
from reports.views.dashboard import (
    activity_view,
    dashboard_export_view,
    dashboard_pdf_view,
    forecast_view,
    funnel_view,
    records_view,
    rep_view,
    team_view,
)
from reports.views.report_file import report_file_download, report_file_status, report_file_view
from reports.views.subscription import delivery_pdf, subscription_delete_view, subscription_list
from reports.views.target import targets_view

app_name = "reports"

urlpatterns = [
    path("", funnel_view, name="funnel"),
    path("forecast/", forecast_view, name="forecast"),
    path("team/", team_view, name="team"),
    path("team/<int:pk>/", rep_view, name="rep"),
    path("activity/", activity_view, name="activity"),
    path("records/", records_view, name="records"),
    path("pdf/", dashboard_pdf_view, name="pdf"),
    path("export/", dashboard_export_view, name="export"),
    path("targets/", targets_view, name="targets"),
    path("targets/import/", ImportUploadView.as_view(kind="target"), name="target_import"),
    path("subscriptions/", subscription_list, name="subscriptions"),
    path("subscriptions/<int:pk>/delete/", subscription_delete_view, name="subscription_delete"),
    path("deliveries/<int:pk>/pdf/", delivery_pdf, name="delivery_pdf"),
    path("files/<int:pk>/", report_file_view, name="file"),
    path("files/<int:pk>/status/", report_file_status, name="file_status"),
    path("files/<int:pk>/download/", report_file_download, name="file_download"),
]
