from django.contrib import admin

from . import services
from .models import Incident, IncidentEvent, Institution, Location


class LocationInline(admin.TabularInline):
    """Shown, not edited here: locations and memberships are changed through the services
    of the accounts app (validated and audited), whose admin registers them."""

    model = Location
    extra = 0
    fields = ["code", "name", "municipality", "active"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["brin", "name", "kind", "region", "urbanity", "city", "active"]
    list_filter = ["kind", "region", "urbanity", "active"]
    search_fields = ["brin", "name", "city"]
    readonly_fields = ["pseudonym"]
    inlines = [LocationInline]


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "action", "changes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "occurred_on",
        "institution",
        "location",
        "incident_type",
        "victim_role",
        "status",
    ]
    list_filter = ["status", "school_year", "victim_role", "incident_type__category", "institution"]
    search_fields = ["id", "external_id", "institution__brin"]
    list_select_related = ["institution", "location", "incident_type"]
    readonly_fields = [
        "institution",
        "school_year",
        "registered_by",
        "created_at",
        "updated_at",
        "status",
    ]
    raw_id_fields = ["location"]
    inlines = [IncidentEventInline]
    date_hierarchy = "occurred_on"

    def save_model(self, request, obj, form, change):
        # Through the services, so admin changes are validated and audited like any other.
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            services.update_incident(actor=request.user, incident=obj, changes=changes)
        else:
            services.register_incident(actor=request.user, incident=obj)

    def has_delete_permission(self, request, obj=None):
        # Registrations are withdrawn, never deleted.
        return False
