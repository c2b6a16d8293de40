from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm.views.account import preferences, set_language, signup, signup_verify
from crm.views.audit import audit_export, audit_items, audit_log, message_log
from crm.views.exchange_rate import exchange_rate_delete_view, exchange_rates_view
from crm.views.health import healthz, healthz_live, healthz_ready
from crm.views.home import home
from crm.views.notification import notification_bell, notification_list, notification_read, notification_read_all
from crm.views.robot import robot_edit, robot_list, robot_set_active_view, robot_test_view
from crm.views.search import global_search
from crm.views.settings import settings_index, tenant_logo, tenant_settings
from crm.views.team import team_create_view, team_edit, team_list
from crm.views.two_factor import LoginView, login_verify, two_factor_view
from crm.views.user import user_create_view, user_edit, user_list, user_set_active_view

settings_patterns = (
    [
        path("", settings_index, name="index"),
        path("company/", tenant_settings, name="tenant"),
        path("company/logo/", tenant_logo, name="tenant_logo"),
        path("users/", user_list, name="users"),
        path("users/new/", user_create_view, name="user_create"),
        path("users/<int:pk>/", user_edit, name="user_edit"),
        path("users/<int:pk>/active/", user_set_active_view, name="user_set_active"),
        path("teams/", team_list, name="teams"),
        path("teams/new/", team_create_view, name="team_create"),
        path("teams/<int:pk>/", team_edit, name="team_edit"),
        path("audit/", audit_log, name="audit"),
        path("audit/export.csv", audit_export, name="audit_export"),
        path("audit/<int:pk>/items/", audit_items, name="audit_items"),
        path("messages/", message_log, name="messages"),
        path("robots/", robot_list, name="robots"),
        path("robots/<int:pk>/", robot_edit, name="robot_edit"),
        path("exchange-rates/", exchange_rates_view, name="exchange_rates"),
        path("exchange-rates/<int:pk>/delete/", exchange_rate_delete_view, name="exchange_rate_delete"),
        path("robots/<int:pk>/active/", robot_set_active_view, name="robot_set_active"),
        path("robots/<int:pk>/test/", robot_test_view, name="robot_test"),
    ],
    "settings",
)

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("healthz/ready", healthz_ready, name="healthz_ready"),
    path("healthz/live", healthz_live, name="healthz_live"),
    path("signup/", signup, name="signup"),
    path("signup/verify/<str:token>/", signup_verify, name="signup_verify"),
    path("language/", set_language, name="set_language"),
    path("login/", LoginView.as_view(), name="login"),
    path("login/code/", login_verify, name="login_verify"),
    path("account/two-factor/", two_factor_view, name="two_factor"),
    path("account/preferences/", preferences, name="preferences"),
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
    path("notifications/", notification_list, name="notifications"),
    path("search/", global_search, name="search"),
    path("notifications/bell/", notification_bell, name="notification_bell"),
    path("notifications/read-all/", notification_read_all, name="notification_read_all"),
    path("notifications/<int:pk>/read/", notification_read, name="notification_read"),
    path("settings/", include(settings_patterns)),
    path("settings/calendar/", include("crm.workcalendar.urls")),
    path("settings/jobs/", include("crm.jobs.urls")),
    path("approvals/", include("crm.approvals.urls")),
    path("imports/", include("crm.imports.urls")),
    path("views/", include("crm.savedviews.urls")),
    path("api/", include("crm.api.urls")),
    path("", include("customers.urls")),
    path("", include("sales.urls")),
    path("", include("service.urls")),
    path("", include("marketing.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
]
