"""Django admin is for the installation's operators (superusers) only; tenant admins use the CRM's settings.

Tenant tables show one company's rows at a time (row-level security, crm/rls.py): the operator picks the company
with the "Show this company's data" action on the company list, and the company's audit log records it.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import AuditEvent, OutboundMessage, Team, Tenant, User
from .services.audit import audit
from .tenancy import OPERATOR_TENANT_SESSION_KEY, tenant_context


@admin.action(description=gettext_lazy("Show this company's data in the admin"))
def show_company_data(modeladmin, request, queryset) -> None:
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Choose exactly one company."), messages.ERROR)
        return
    tenant = queryset.get()
    request.session[OPERATOR_TENANT_SESSION_KEY] = tenant.pk
    with tenant_context(tenant.pk):
        audit(tenant=tenant, actor=request.user, action="operator.show_data", obj=tenant)
    modeladmin.message_user(request, _("The admin now shows the data of %(company)s.") % {"company": tenant.name})


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "language", "timezone", "is_active", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["is_active", "language"]
    actions = [show_company_data]


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
