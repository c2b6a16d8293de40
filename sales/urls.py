"""URLs of the sales app (follow-ups, tasks and reminders, calendar, orders), mounted at the site root."""

from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="task_reopen"),
    path("followups/", views.followup_list, name="followup_list"),
    path("followups/customer/<int:customer_pk>/", views.followup_create, name="followup_create"),
    path("followups/<int:pk>/edit/", views.followup_edit, name="followup_edit"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/appointments/new/", views.appointment_create, name="appointment_create"),
    path("calendar/appointments/<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("calendar/appointments/<int:pk>/edit/", views.appointment_edit, name="appointment_edit"),
    path("calendar/appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/void/", views.order_void, name="order_void"),
    path("pickers/customers/", views.customer_options, name="customer_options"),
    path("pickers/contacts/", views.contact_options, name="contact_options"),
]
