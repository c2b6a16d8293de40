from django.urls import path

from . import views

app_name = "workcalendar"

urlpatterns = [
    path("", views.calendar_settings, name="settings"),
    path("overrides/", views.override_add, name="override_add"),
    path("overrides/<int:pk>/remove/", views.override_remove, name="override_remove"),
]
