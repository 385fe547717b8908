"""The admin of locations and memberships (through the services of this app, so a change
here is validated and audited like one in the web pages), and the read-only audit trail,
invitations and linked institution accounts."""

from django.contrib import admin

from incidents.models import Location, Membership

from . import locations as location_services
from . import members as member_services
from .models import AuditEvent, Invitation, OIDCIdentity


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "institution", "municipality", "active"]
    list_filter = ["active", "institution"]
    search_fields = ["code", "name", "institution__brin", "institution__name"]
    list_select_related = ["institution"]
    fields = ["institution", "code", "name", "municipality", "active"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        # The code stays once made: incident files name the location by it.
        return ["institution", "code"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            created = location_services.create_location(
                actor=request.user,
                institution=obj.institution,
                code=obj.code,
                name=obj.name,
                municipality=obj.municipality,
            )
            obj.pk = created.pk
            if not obj.active:
                location_services.deactivate_location(actor=request.user, location=created)
            return
        edits = {
            f: form.cleaned_data[f] for f in form.changed_data if f in ("name", "municipality")
        }
        if edits:
            location_services.update_location(actor=request.user, location=obj, changes=edits)
        if "active" in form.changed_data:
            if obj.active:
                location_services.activate_location(actor=request.user, location=obj)
            else:
                location_services.deactivate_location(actor=request.user, location=obj)

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.incidents.exists()

    def delete_model(self, request, obj):
        location_services.delete_location(actor=request.user, location=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution", "default_location", "named_access"]
    list_filter = ["role", "institution"]
    search_fields = ["user__username", "user__email", "institution__brin"]
    autocomplete_fields = ["institution"]
    raw_id_fields = ["user", "default_location"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return ["user", "institution"] if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            created = member_services.add_membership(
                actor=request.user,
                user=obj.user,
                role=obj.role,
                institution=obj.institution,
                named_access=obj.named_access,
                default_location=obj.default_location,
            )
            obj.pk = created.pk
            return
        member_services.change_member(
            actor=request.user,
            membership=obj,
            role=obj.role,
            default_location=obj.default_location,
            named_access=obj.named_access,
        )

    def has_delete_permission(self, request, obj=None):
        # People are deactivated (web page: Vestigingen en mensen), with an audit entry.
        return False


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    list_display = ["at", "actor", "institution", "action", "subject"]
    list_filter = ["action", "institution"]
    search_fields = ["subject", "actor__username"]
    date_hierarchy = "at"


@admin.register(Invitation)
class InvitationAdmin(_ReadOnly):
    list_display = ["email", "role", "institution", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "institution"]
    search_fields = ["email"]
    exclude = ["secret_hash"]


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(_ReadOnly):
    list_display = ["user", "issuer", "email", "created_at", "last_login_at"]
    search_fields = ["user__username", "email"]

    def has_delete_permission(self, request, obj=None):
        return True  # unlink: the person signs in again by invitation or e-mail
