from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm

settings_patterns = (
    [
        path("", views.settings_index, name="index"),
        path("company/", views.tenant_settings, name="tenant"),
        path("users/", views.user_list, name="users"),
        path("users/new/", views.user_create, name="user_create"),
        path("users/<int:pk>/", views.user_edit, name="user_edit"),
        path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
        path("teams/", views.team_list, name="teams"),
        path("teams/new/", views.team_create, name="team_create"),
        path("teams/<int:pk>/", views.team_edit, name="team_edit"),
        path("audit/", views.audit_log, name="audit"),
        path("messages/", views.message_log, name="messages"),
    ],
    "settings",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("signup/", views.signup, name="signup"),
    path("language/", views.set_language, name="set_language"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("settings/", include(settings_patterns)),
    path("settings/calendar/", include("crm.workcalendar.urls")),
    path("settings/pools/", include("customers.urls_pool_settings")),
    path("settings/assignment/", include("customers.urls_assignment")),
    path("approvals/", include("crm.approvals.urls")),
    path("customers/", include("customers.urls")),
    path("pool/", include("customers.urls_pool")),
    path("", include("sales.urls")),
    path("admin/", admin.site.urls),
]
