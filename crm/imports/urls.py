"""The pages of an import job, whatever its kind (mounted at /imports/). Each kind's upload page lives in its own
app's urls (`views.ImportUploadView.as_view(kind=…)`)."""

from django.urls import path

from crm.imports import views

app_name = "imports"

urlpatterns = [
    path("<int:pk>/", views.ImportDetailView.as_view(), name="detail"),
    path("<int:pk>/mapping/", views.ImportMappingView.as_view(), name="mapping"),
    path("<int:pk>/preview/", views.ImportPreviewView.as_view(), name="preview"),
    path("<int:pk>/commit/", views.ImportCommitView.as_view(), name="commit"),
    path("<int:pk>/progress/", views.ImportProgressView.as_view(), name="progress"),
    path("<int:pk>/rejected.csv", views.ImportRejectedView.as_view(), name="rejected"),
]
