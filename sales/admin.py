"""Django admin is for the installation's operators only (DESIGN.md §2): read-mostly views to support tenants."""

from django.contrib import admin

from .models import (
    Appointment,
    FollowUp,
    Lead,
    LeadScoringRule,
    LeadWebForm,
    Opportunity,
    Order,
    OrderLine,
    Pipeline,
    Stage,
    StageChange,
    Task,
)


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "customer", "lead", "author", "kind", "outcome", "happened_at")
    list_filter = ("kind", "outcome")
    list_select_related = ("tenant", "customer", "lead", "author")
    raw_id_fields = ("customer", "lead", "opportunity", "contact", "author", "created_by")
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


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "tenant",
        "name",
        "company",
        "status",
        "origin",
        "owner",
        "score",
        "is_duplicate",
        "created_at",
    )
    list_filter = ("status", "origin", "is_duplicate")
    list_select_related = ("tenant", "owner")
    search_fields = ("name", "company", "phone", "email")
    raw_id_fields = ("owner", "created_by")
    readonly_fields = ("score", "score_rules", "scored_at", "customer", "contact", "opportunity", "converted_at")


@admin.register(LeadScoringRule)
class LeadScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "field", "condition", "value", "points", "is_active")
    list_select_related = ("tenant",)


@admin.register(LeadWebForm)
class LeadWebFormAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "is_enabled", "owner")
    list_select_related = ("tenant", "owner")
    raw_id_fields = ("owner", "created_by")


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ("name", "kind", "probability", "position", "is_active")


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "name", "position", "is_active")
    list_select_related = ("tenant",)
    inlines = [StageInline]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "name", "customer", "stage", "status", "amount", "currency", "owner")
    list_filter = ("status",)
    list_select_related = ("tenant", "customer", "stage", "owner")
    raw_id_fields = ("customer", "contact", "owner", "lead", "order", "created_by")


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "opportunity", "from_stage", "to_stage", "at", "by")
    list_select_related = ("tenant", "opportunity", "from_stage", "to_stage", "by")
    raw_id_fields = ("opportunity", "by", "created_by")
