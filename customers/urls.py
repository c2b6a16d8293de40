from django.urls import include, path

from crm.imports.views import ImportUploadView, LegacyImportRedirectView

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("transfer/", views.customer_transfer, name="transfer"),
    path("move-pool/", views.customer_move_pool, name="move_pool"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/delete/", views.customer_delete, name="delete"),
    path("<int:pk>/contacts/new/", views.contact_edit, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", views.contact_delete, name="contact_delete"),
    path("<int:pk>/share/", views.customer_share, name="share"),
    path("<int:pk>/share/<int:user_pk>/remove/", views.customer_unshare, name="unshare"),
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
    path("", include("customers.urls_export")),
]
