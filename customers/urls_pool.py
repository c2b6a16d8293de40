from django.urls import path

from . import views_health, views_pool

app_name = "pool"

urlpatterns = [
    path("", views_pool.pool_list, name="list"),
    path("<int:pk>/", views_pool.pool_customer, name="customer"),
    path("<int:pk>/claim/", views_pool.claim, name="claim"),
    path("assign/", views_pool.assign, name="assign"),
    path("at-risk/", views_pool.at_risk, name="at_risk"),
    path("health/", views_health.pool_health, name="health"),
    path("health/customers/", views_health.health_customers, name="health_customers"),
    path("extensions/", views_pool.extensions, name="extensions"),
    path("extensions/<int:pk>/decide/", views_pool.extension_decide, name="extension_decide"),
    path("customers/<int:pk>/release/", views_pool.release, name="release"),
    path("customers/<int:pk>/extension/", views_pool.extension_request, name="extension_request"),
]
