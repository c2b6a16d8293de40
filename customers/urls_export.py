"""Export, recycle-bin and merge pages (included into the customers namespace by customers/urls.py)."""

from django.urls import path

from . import views_export

urlpatterns = [
    path("export/", views_export.export, name="export"),
    path("exports/", views_export.export_list, name="exports"),
    path("exports/<int:pk>/download/", views_export.export_download, name="export_download"),
    path("trash/", views_export.trash, name="trash"),
    path("trash/<int:pk>/restore/", views_export.restore, name="restore"),
    path("<int:pk>/merge/", views_export.merge, name="merge"),
]
