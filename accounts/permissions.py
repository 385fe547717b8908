"""Who may manage whom: the rules the services enforce (the views show a 404 before)."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from incidents.models import Institution, Location, is_administrator


def may_manage(actor, institution: Institution | None) -> bool:
    """Coordinators manage their own institutions, administrators every one and the
    sector-wide roles (researchers, ``institution=None``). ``actor=None`` is the system (a
    command, the demo)."""
    if actor is None or is_administrator(actor):
        return True
    if institution is None:
        return False
    return Institution.objects.manageable_by(actor).filter(pk=institution.pk).exists()


def check_manage(actor, institution: Institution | None) -> None:
    if not may_manage(actor, institution):
        raise PermissionDenied(_("U beheert deze instelling niet."))


def check_location(actor, location: Location) -> None:
    if actor is not None and not Location.objects.manageable_by(actor).filter(pk=location.pk):
        raise PermissionDenied(_("U beheert deze vestiging niet."))
