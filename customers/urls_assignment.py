"""Assignment rules' settings pages, mounted at /settings/assignment/ (namespace "assignment")."""

from django.urls import path

from . import views_assignment as views

app_name = "assignment"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("settings/", views.settings_update, name="settings"),
    path("new/", views.rule_create, name="create"),
    path("<int:pk>/", views.rule_edit, name="edit"),
    path("<int:pk>/enable/", views.rule_enable, name="enable"),
    path("<int:pk>/disable/", views.rule_disable, name="disable"),
    path("<int:pk>/apply/", views.rule_apply, name="apply"),
    path("<int:pk>/move/", views.rule_move, name="move"),
    path("<int:pk>/delete/", views.rule_delete, name="delete"),
]
