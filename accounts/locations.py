"""Locations (vestigingen) of an institution: add, rename, deactivate, activate, delete.

Each function is atomic, takes the acting user keyword-only, validates through
``Location.full_clean()`` and writes an :class:`~accounts.models.AuditEvent`.

A location that has incidents is never deleted: it is deactivated. A deactivated location
is not offered for new registrations (``Location.objects.registrable_by``) and a new
incident cannot choose it (``Incident.clean``), but the incidents registered there keep
it, and so do the figures.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from incidents.models import Institution, Location
from miv.errors import DomainError

from . import audit
from .choices import AuditAction
from .permissions import check_location, check_manage

# What a coordinator may change of a location. The code stays: incident files name the
# location by it.
EDITABLE = ("name", "municipality")


def create_location(
    *, actor, institution: Institution, code: str, name: str, municipality: str = ""
) -> Location:
    with transaction.atomic():
        check_manage(actor, institution)
        location = Location(
            institution=institution,
            code=code.strip(),
            name=" ".join(name.split()),
            municipality=municipality.strip(),
        )
        location.full_clean()
        location.save()
        audit.record(
            actor=actor,
            action=AuditAction.LOCATION_CREATED,
            institution=institution,
            subject=location.code,
            changes={"name": [None, location.name], "municipality": [None, location.municipality]},
        )
    return location


def update_location(*, actor, location: Location, changes: dict) -> Location:
    """Rename a location (``name``) or change its ``municipality``."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        check_location(actor, location)
        before = {field: getattr(location, field) for field in EDITABLE}
        for field, value in changes.items():
            setattr(location, field, " ".join(str(value).split()))
        location.full_clean()
        location.save()
        diff = {
            field: [before[field], getattr(location, field)]
            for field in EDITABLE
            if before[field] != getattr(location, field)
        }
        if diff:
            audit.record(
                actor=actor,
                action=AuditAction.LOCATION_CHANGED,
                institution=location.institution,
                subject=location.code,
                changes=diff,
            )
    return location


def _set_active(*, actor, location: Location, active: bool) -> bool:
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        check_location(actor, location)
        if location.active == active:
            return False
        location.active = active
        location.save(update_fields=["active"])
        audit.record(
            actor=actor,
            action=AuditAction.LOCATION_ACTIVATED if active else AuditAction.LOCATION_DEACTIVATED,
            institution=location.institution,
            subject=location.code,
            changes={"active": [not active, active]},
        )
    return True


def deactivate_location(*, actor, location: Location) -> bool:
    """No new registrations at this location; its incidents keep it. False if it was
    inactive already."""
    return _set_active(actor=actor, location=location, active=False)


def activate_location(*, actor, location: Location) -> bool:
    return _set_active(actor=actor, location=location, active=True)


def delete_location(*, actor, location: Location) -> None:
    """Delete a location that never had an incident (e.g. added by mistake); one with
    incidents is refused and can only be deactivated."""
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        check_location(actor, location)
        if location.incidents.exists():
            raise DomainError(
                _(
                    "Op deze vestiging zijn incidenten geregistreerd; die houden hun "
                    "vestiging. Deactiveer de vestiging in plaats van haar te verwijderen."
                ),
                code="location_has_incidents",
            )
        institution, code, name = location.institution, location.code, location.name
        location.delete()
        audit.record(
            actor=actor,
            action=AuditAction.LOCATION_DELETED,
            institution=institution,
            subject=code,
            changes={"name": [name, None]},
        )
