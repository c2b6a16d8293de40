from django.urls import include, path
from rest_framework.routers import SimpleRouter

from crm.registry import registry

from . import views

app_name = "api"

router = SimpleRouter(use_regex_path=False)
for resource in registry.api_resources():
    router.register(resource.prefix, resource.viewset, basename=resource.basename)

urlpatterns = [
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_edit, name="webhook_edit"),
    path("webhooks/deliveries/<int:pk>/resend/", views.webhook_redeliver_view, name="webhook_redeliver"),
    path("custom-fields/", views.custom_field_list, name="custom_fields"),
    path("custom-fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("custom-fields/<int:pk>/archive/", views.custom_field_archive_view, name="custom_field_archive"),
    path("v1/schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    path("v1/", include(router.urls)),
]
