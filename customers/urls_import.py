"""Import pages (included into the customers namespace by customers/urls.py, mounted at /customers/)."""

from django.urls import path

from . import views_import

urlpatterns = [
    path("import/", views_import.import_upload, name="import"),
    path("import/<int:pk>/", views_import.import_detail, name="import_detail"),
    path("import/<int:pk>/mapping/", views_import.import_mapping, name="import_mapping"),
    path("import/<int:pk>/preview/", views_import.import_preview, name="import_preview"),
    path("import/<int:pk>/commit/", views_import.import_commit, name="import_commit"),
    path("import/<int:pk>/progress/", views_import.import_progress, name="import_progress"),
    path("import/<int:pk>/rejected.csv", views_import.import_rejected, name="import_rejected"),
]
