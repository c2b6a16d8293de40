"""Import pages (included into the customers namespace by customers/urls.py, mounted at /customers/)."""

from django.urls import path

from . import views_import as views

urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("import/<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("import/<int:pk>/commit/", views.import_commit, name="import_commit"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/rejected.csv", views.import_rejected, name="import_rejected"),
]
