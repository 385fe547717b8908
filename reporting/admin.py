"""Administrators read the researchers' request log here (read-only: an audit log is not
edited)."""

from django.contrib import admin

from .models import ResearchRequestLog


@admin.register(ResearchRequestLog)
class ResearchRequestLogAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "endpoint", "status_code", "authentication"]
    list_filter = ["endpoint", "status_code", "authentication"]
    search_fields = ["username"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in ResearchRequestLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
