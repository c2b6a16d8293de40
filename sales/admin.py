"""Django admin is for the installation's operators only (DESIGN.md §2): read-mostly views to support tenants."""

from django.contrib import admin

from .models import Appointment, FollowUp, Order, OrderLine, Task


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "customer", "author", "kind", "outcome", "happened_at")
    list_filter = ("kind", "outcome")
    list_select_related = ("tenant", "customer", "author")
    raw_id_fields = ("customer", "contact", "author", "created_by")
    date_hierarchy = "happened_at"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "assignee", "due_at", "remind_at", "reminder_sent_at", "done_at")
    list_select_related = ("tenant", "assignee")
    raw_id_fields = ("assignee", "customer", "created_by")
    readonly_fields = ("reminder_sent_at", "done_at", "done_by", "follow_up")


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "owner", "start_at", "end_at", "cancelled_at")
    list_select_related = ("tenant", "owner")
    raw_id_fields = ("owner", "customer", "created_by")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("position", "name", "quantity", "unit_price")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "customer", "ordered_on", "amount", "currency", "reference", "voided_at")
    list_select_related = ("tenant", "customer")
    raw_id_fields = ("customer", "created_by", "voided_by")
    inlines = [OrderLineInline]
