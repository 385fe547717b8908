"""The service functions: every state change is validated, audited (with personal data
masked) and announced to the figures after commit."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.choices import EventAction, Status
from incidents.models import Incident, IncidentEvent
from incidents.signals import incidents_changed
from miv.errors import DomainError
from taxonomy.models import IncidentType

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """The school years announced through ``incidents_changed``."""
    calls = []

    def listener(sender, school_years, **kwargs):
        calls.append(set(school_years))

    incidents_changed.connect(listener)
    yield calls
    incidents_changed.disconnect(listener)


def new_incident(location, **fields) -> Incident:
    values = {
        "location": location,
        "incident_type": IncidentType.objects.get(code="MIS.FYS.06"),
        "occurred_on": date(2023, 7, 31),
        "victim_role": "student",
        "description": "Jan Jansen sloeg Piet Pietersen.",
        "measures": "Jan geschorst.",
    }
    values.update(fields)
    return Incident(**values)


def test_register_saves_audits_masked_and_notifies(
    registrar_a, location_a, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.register_incident(actor=registrar_a, incident=new_incident(location_a))
    assert incident.pk and incident.registered_by == registrar_a
    assert incident.institution == location_a.institution
    event = IncidentEvent.objects.get(incident=incident)
    assert (event.action, event.actor) == (EventAction.CREATED, registrar_a)
    assert event.changes["description"] == ["", "***"]
    assert event.changes["measures"] == ["", "***"]
    assert event.changes["incident_type"] == [None, "MIS.FYS.06"]
    assert event.changes["location"] == [None, "A-HQ"]
    assert "Jan" not in str(event.changes)
    assert received == [{"2022-2023"}]


def test_register_rejects_invalid_incidents_and_leaves_no_trace(registrar_a, location_a, received):
    future = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        services.register_incident(
            actor=registrar_a, incident=new_incident(location_a, occurred_on=future)
        )
    assert "occurred_on" in info.value.message_dict
    assert not Incident.objects.exists() and not IncidentEvent.objects.exists()
    assert received == []


def test_update_records_only_what_changed(
    coordinator_a, incident_a, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_incident(
            actor=coordinator_a,
            incident=incident_a,
            changes={"occurred_on": date(2023, 8, 1), "description": "Nieuwe tekst met namen"},
        )
    event = IncidentEvent.objects.get(incident=incident_a)
    assert (event.action, event.actor) == (EventAction.CHANGED, coordinator_a)
    assert event.changes == {
        "occurred_on": ["2023-03-14", "2023-08-01"],
        "description": ["***", "***"],
    }
    # Both the old and the new school year are recomputed.
    assert received == [{"2022-2023", "2023-2024"}]
    assert Incident.objects.get(pk=incident_a.pk).school_year == "2023-2024"


def test_update_without_changes_records_nothing(coordinator_a, incident_a):
    services.update_incident(actor=coordinator_a, incident=incident_a, changes={})
    services.update_incident(
        actor=coordinator_a, incident=incident_a, changes={"victim_role": incident_a.victim_role}
    )
    assert not IncidentEvent.objects.exists()


def test_update_validates_with_the_model_rules(coordinator_a, incident_a):
    with pytest.raises(ValidationError):
        services.update_incident(
            actor=coordinator_a, incident=incident_a, changes={"occurred_on": date(1999, 1, 1)}
        )
    assert Incident.objects.get(pk=incident_a.pk).occurred_on == date(2023, 3, 14)
    assert not IncidentEvent.objects.exists()


def test_close_and_withdraw_transitions(coordinator_a, incident_a):
    services.close_incident(actor=coordinator_a, incident=incident_a)
    with pytest.raises(DomainError):
        services.close_incident(actor=coordinator_a, incident=incident_a)
    services.withdraw_incident(actor=coordinator_a, incident=incident_a)
    with pytest.raises(DomainError):
        services.withdraw_incident(actor=coordinator_a, incident=incident_a)
    with pytest.raises(DomainError):
        services.update_incident(
            actor=coordinator_a, incident=incident_a, changes={"victim_role": "staff"}
        )
    events = list(
        IncidentEvent.objects.filter(incident=incident_a).values_list("action", "changes")
    )
    assert events == [
        (EventAction.CLOSED, {"status": ["open", "closed"]}),
        (EventAction.WITHDRAWN, {"status": ["closed", "withdrawn"]}),
    ]
    incident = Incident.objects.get(pk=incident_a.pk)
    assert incident.status == Status.WITHDRAWN
    assert not Incident.objects.counted().filter(pk=incident.pk).exists()


def test_withdraw_directly_from_open(coordinator_a, incident_a):
    services.withdraw_incident(actor=coordinator_a, incident=incident_a)
    assert Incident.objects.get(pk=incident_a.pk).status == Status.WITHDRAWN


def test_anonymise_blanks_personal_data_once(coordinator_a, incident_a):
    assert services.anonymise_incident(actor=None, incident=incident_a) is True
    incident = Incident.objects.get(pk=incident_a.pk)
    assert (incident.description, incident.measures) == ("", "")
    assert incident.anonymised_at is not None
    assert services.anonymise_incident(actor=None, incident=incident_a) is False
    event = IncidentEvent.objects.get(incident=incident_a)
    # Which fields were blanked, never what they held.
    assert event.action == EventAction.ANONYMISED
    assert event.changes == {
        field: ["***", ""] for field in ("description", "measures") if getattr(incident_a, field)
    }
    assert event.changes


def test_register_refuses_a_location_the_actor_may_not_register_at(
    registrar_a, location_b, received
):
    # The form and the API only offer the user's own locations; the service holds the rule
    # for every caller.
    with pytest.raises(ValidationError) as info:
        services.register_incident(actor=registrar_a, incident=new_incident(location_b))
    assert "location" in info.value.message_dict
    assert not Incident.objects.exists() and received == []
