"""State changes of incidents: register, change, close, withdraw, anonymise.

Every function is atomic, validates through ``Incident.full_clean()`` (the same rules
as form, admin and API), writes an :class:`IncidentEvent`, and tells listeners (the
figures) after commit.
"""

from collections.abc import Iterable
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from miv.errors import DomainError

from .choices import EventAction, Status
from .models import Incident, IncidentEvent
from .signals import incidents_changed

# Personal data: a change is recorded, its content never.
MASKED_FIELDS = {"description", "measures"}
MASK = "***"
AUDITED_FIELDS = [
    "location",
    "incident_type",
    "occurred_on",
    "occurred_at",
    "place",
    "victim_role",
    "perpetrator_role",
    "injury",
    "police_involved",
    "measures",
    "description",
    "status",
    "external_id",
]


def _audit_value(incident: Incident, field: str):
    if field == "incident_type":
        return incident.incident_type.code if incident.incident_type_id else None
    if field == "location":
        return incident.location.code if incident.location_id else None
    value = getattr(incident, field)
    if isinstance(value, date | time | datetime):
        return value.isoformat()
    return value


def _snapshot(incident: Incident) -> dict:
    return {field: _audit_value(incident, field) for field in AUDITED_FIELDS}


def _masked(field: str, value):
    return (MASK if value else "") if field in MASKED_FIELDS else value


def _diff(before: dict, after: dict) -> dict:
    """Changed fields as ``{field: [old, new]}``; personal data only as ``***``."""
    return {
        field: [_masked(field, before[field]), _masked(field, after[field])]
        for field in AUDITED_FIELDS
        if before[field] != after[field]
    }


def _notify(school_years: Iterable[str]) -> None:
    years = set(school_years)
    transaction.on_commit(lambda: incidents_changed.send(sender=Incident, school_years=years))


def record_event(incident: Incident, *, actor, action: str, changes: dict | None = None):
    return IncidentEvent.objects.create(
        incident=incident, actor=actor, action=action, changes=changes or {}
    )


def register_incident(*, actor, incident: Incident) -> Incident:
    """Validate and save a new incident registered by ``actor``."""
    with transaction.atomic():
        incident.registered_by = actor if actor and actor.is_authenticated else None
        if incident.location_id:
            incident.institution_id = incident.location.institution_id
        incident.full_clean()
        incident.save()
        empty = dict.fromkeys(AUDITED_FIELDS)
        changes = {k: v for k, v in _diff(empty, _snapshot(incident)).items() if v[1] != ""}
        record_event(
            incident, actor=incident.registered_by, action=EventAction.CREATED, changes=changes
        )
        _notify([incident.school_year])
    return incident


def update_incident(*, actor, incident: Incident, changes: dict) -> Incident:
    """Apply ``changes`` (field -> value) to an incident that is not withdrawn."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.WITHDRAWN:
            raise DomainError(_("Een ingetrokken incident kan niet meer worden gewijzigd."))
        before = _snapshot(incident)
        old_year = incident.school_year
        for field, value in changes.items():
            setattr(incident, field, value)
        incident.full_clean()
        incident.save()
        diff = _diff(before, _snapshot(incident))
        if diff:
            record_event(incident, actor=actor, action=EventAction.CHANGED, changes=diff)
            _notify({old_year, incident.school_year})
    return incident


def _transition(*, actor, incident: Incident, to: str, allowed_from: set, action: str) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status not in allowed_from:
            raise DomainError(
                _("Dit incident heeft status '%(status)s' en kan niet naar '%(to)s'.")
                % {"status": incident.get_status_display(), "to": Status(to).label},
                code="invalid_status",
            )
        old = incident.status
        incident.status = to
        incident.save(update_fields=["status", "updated_at"])
        record_event(incident, actor=actor, action=action, changes={"status": [old, to]})
        _notify([incident.school_year])
    return incident


def close_incident(*, actor, incident: Incident) -> Incident:
    """Mark an open incident as handled."""
    return _transition(
        actor=actor,
        incident=incident,
        to=Status.CLOSED,
        allowed_from={Status.OPEN},
        action=EventAction.CLOSED,
    )


def withdraw_incident(*, actor, incident: Incident) -> Incident:
    """Withdraw a registration made in error. It is kept, but no longer counts in figures."""
    return _transition(
        actor=actor,
        incident=incident,
        to=Status.WITHDRAWN,
        allowed_from={Status.OPEN, Status.CLOSED},
        action=EventAction.WITHDRAWN,
    )


def anonymise_incident(*, actor, incident: Incident, action: str = EventAction.ANONYMISED) -> bool:
    """Blank the personal-data fields of one incident (retention or a data-subject request)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.anonymised_at and not incident.description and not incident.measures:
            return False
        incident.description = ""
        incident.measures = ""
        incident.anonymised_at = timezone.now()
        incident.save(update_fields=["description", "measures", "anonymised_at", "updated_at"])
        record_event(incident, actor=actor, action=action, changes={})
    return True
