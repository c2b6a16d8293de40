from django.urls import path

from . import views_pool

app_name = "pool_settings"

urlpatterns = [
    path("", views_pool.pool_settings_list, name="list"),
    path("new/", views_pool.pool_settings_create, name="create"),
    path("<int:pk>/", views_pool.pool_settings_edit, name="edit"),
    path("<int:pk>/simulate/", views_pool.pool_settings_simulate, name="simulate"),
]
