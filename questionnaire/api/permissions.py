from rest_framework.permissions import BasePermission

from incidents.roles import is_administrator, is_coordinator


class CoordinatorOrAdministrator(BasePermission):
    """Institutions' answers are read by their coordinators and by administrators only.
    Which response exists for a user: ``QuestionnaireResponse.objects.visible_to``."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated) and (
            is_coordinator(user) or is_administrator(user)
        )
