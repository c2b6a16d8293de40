from django.urls import path

from crm.savedviews.views import saved_view_delete_view, saved_view_save_view

app_name = "savedviews"

urlpatterns = [
    path("save/", saved_view_save_view, name="save"),
    path("<int:pk>/delete/", saved_view_delete_view, name="delete"),
]
