"""What a user is, in MIV terms. Cached per request on the user object."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .choices import Role
from .models import is_administrator, memberships_of

__all__ = [
    "can_register",
    "coordinator_institution_ids",
    "is_administrator",
    "is_coordinator",
    "is_researcher",
    "manager_required",
    "memberships_of",
]


def _roles(user) -> set[str]:
    return {m.role for m in memberships_of(user)}


def is_researcher(user) -> bool:
    return Role.RESEARCHER in _roles(user)


def is_coordinator(user) -> bool:
    return Role.COORDINATOR in _roles(user)


def can_register(user) -> bool:
    """Registrars and coordinators register incidents (administrators may too)."""
    return is_administrator(user) or bool(_roles(user) & {Role.REGISTRAR, Role.COORDINATOR})


def coordinator_institution_ids(user) -> set[int]:
    return {m.institution_id for m in memberships_of(user) if m.role == Role.COORDINATOR}


def has_any_role(user) -> bool:
    return is_administrator(user) or bool(memberships_of(user))


def manager_required(view):
    """A page for coordinators and administrators (the people who manage an institution:
    imports, people and locations, registration quality); anyone else who is logged in
    gets 403, anonymous visitors the login page."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not (is_administrator(request.user) or is_coordinator(request.user)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
