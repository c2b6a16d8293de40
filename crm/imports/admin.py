from django.contrib import admin

from crm.imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "kind", "original_name", "status", "total_rows", "created_count", "rejected_count")
    list_filter = ("kind", "status")
    list_select_related = ("tenant",)
    raw_id_fields = ("created_by",)
