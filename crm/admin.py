"""Django admin is for the installation's operators (superusers) only; tenant admins use the CRM's settings."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AuditEvent, OutboundMessage, Team, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "language", "timezone", "is_active", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["is_active", "language"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "tenant", "roles", "is_active", "is_superuser"]
    list_filter = ["is_active", "is_superuser", "tenant"]
    search_fields = ["email", "full_name"]
    list_select_related = ["tenant"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("tenant", "full_name", "phone", "roles", "team", "language")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "tenant", "password1", "password2")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "path", "manager"]
    list_filter = ["tenant"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "tenant", "actor", "action", "object_type", "object_id"]
    list_filter = ["tenant", "action"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "channel", "to_address", "subject", "status", "attempts"]
    list_filter = ["status", "channel", "tenant"]
