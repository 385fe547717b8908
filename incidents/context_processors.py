from . import roles as miv_roles


def roles(request):
    """The user's roles, for navigation in every template."""
    user = getattr(request, "user", None)
    return {
        "miv_roles": {
            "administrator": miv_roles.is_administrator(user),
            "coordinator": miv_roles.is_coordinator(user),
            "researcher": miv_roles.is_researcher(user),
            "can_register": miv_roles.can_register(user),
            "any": miv_roles.has_any_role(user),
        }
    }
