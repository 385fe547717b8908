"""What a user is, in MIV terms. Cached per request on the user object."""

from .choices import Role
from .models import is_administrator, memberships_of

__all__ = [
    "can_register",
    "coordinator_institution_ids",
    "is_administrator",
    "is_coordinator",
    "is_researcher",
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
