from rest_framework.permissions import SAFE_METHODS, BasePermission

from incidents.models import Incident, Location
from incidents.roles import can_register, has_any_role, is_administrator, is_coordinator


class IncidentPermission(BasePermission):
    """Registrars and coordinators work with incidents; researchers never see one.

    Which incidents exist for a user is decided by ``Incident.objects.visible_to`` (an
    invisible incident is a 404); changing one needs ``editable_by`` (else 403).
    """

    def has_permission(self, request, view):
        return can_register(request.user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return Incident.objects.editable_by(request.user).filter(pk=obj.pk).exists()


class InstitutionPermission(BasePermission):
    """Read for anyone with a role; write for administrators."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return has_any_role(request.user)
        return is_administrator(request.user)


class LocationPermission(BasePermission):
    """Read for anyone with a role; coordinators may also add and change their locations."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return has_any_role(request.user)
        return is_administrator(request.user) or is_coordinator(request.user)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return Location.objects.manageable_by(request.user).filter(pk=obj.pk).exists()
