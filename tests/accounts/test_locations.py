"""Locations in the web interface: add, rename, deactivate, delete only without incidents;
every change audited; a deactivated location is not offered for new registrations, and
old incidents keep it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import locations
from accounts.choices import AuditAction
from accounts.models import AuditEvent
from incidents import services
from incidents.models import Incident, Location
from miv.errors import DomainError
from tests.factories import IncidentFactory, incident_type

pytestmark = pytest.mark.django_db


def test_a_coordinator_adds_renames_and_deactivates_a_location(
    client, coordinator_a, institution_a
):
    client.force_login(coordinator_a)
    url = f"/accounts/institutions/{institution_a.brin}/locations/"
    answer = client.post(url, {"code": "A-ZW", "name": "  Alfa   Zuidwest ", "municipality": "Ede"})
    assert answer.status_code == 302
    location = Location.objects.get(code="A-ZW")
    assert (location.institution, location.name, location.active) == (
        institution_a,
        "Alfa Zuidwest",
        True,
    )

    client.post(f"{url}{location.pk}/", {"name": "Alfa Zuid", "municipality": "Ede"})
    client.post(f"{url}{location.pk}/deactivate/")
    location.refresh_from_db()
    assert (location.name, location.active) == ("Alfa Zuid", False)

    events = list(
        AuditEvent.objects.order_by("at", "id").values_list("action", "subject", "changes")
    )
    assert events == [
        (AuditAction.LOCATION_CREATED, "A-ZW",
         {"name": [None, "Alfa Zuidwest"], "municipality": [None, "Ede"]}),
        (AuditAction.LOCATION_CHANGED, "A-ZW", {"name": ["Alfa Zuidwest", "Alfa Zuid"]}),
        (AuditAction.LOCATION_DEACTIVATED, "A-ZW", {"active": [True, False]}),
    ]  # fmt: skip
    assert all(e.actor == coordinator_a for e in AuditEvent.objects.all())
    assert "Alfa Zuid" in client.get(url).content.decode()


def test_a_duplicate_code_is_shown_in_the_form_and_nothing_is_saved(
    client, coordinator_a, institution_a, location_a
):
    client.force_login(coordinator_a)
    answer = client.post(
        f"/accounts/institutions/{institution_a.brin}/locations/",
        {"code": location_a.code, "name": "Dubbel"},
    )
    assert answer.status_code == 200
    assert "Controleer het formulier" in answer.content.decode()
    assert Location.objects.count() == 1 and not AuditEvent.objects.exists()


def test_a_deactivated_location_is_not_offered_but_old_incidents_keep_it(
    client, coordinator_a, registrar_a, location_a, institution_a
):
    old = IncidentFactory(location=location_a, registered_by=registrar_a)
    other = Location.objects.create(institution=institution_a, code="A-2", name="Tweede")
    locations.deactivate_location(actor=coordinator_a, location=location_a)

    client.force_login(registrar_a)
    form = client.get("/incidents/register/").context["form"]
    assert list(form.fields["location"].queryset) == [other]
    with pytest.raises(ValidationError):
        services.register_incident(
            actor=registrar_a,
            incident=Incident(
                location=location_a,
                incident_type=incident_type(),
                occurred_on=old.occurred_on,
                victim_role="student",
            ),
        )
    old.refresh_from_db()
    assert old.location == location_a
    # Changing something else of the old incident is still fine.
    services.update_incident(actor=coordinator_a, incident=old, changes={"injury": "minor"})

    locations.activate_location(actor=coordinator_a, location=location_a)
    assert (
        location_a in client.get("/incidents/register/").context["form"].fields["location"].queryset
    )


def test_a_location_with_incidents_is_never_deleted(client, coordinator_a, location_a, incident_a):
    with pytest.raises(DomainError):
        locations.delete_location(actor=coordinator_a, location=location_a)
    client.force_login(coordinator_a)
    answer = client.post(
        f"/accounts/institutions/{location_a.institution.brin}/locations/{location_a.pk}/delete/",
        follow=True,
    )
    assert "Deactiveer de vestiging" in answer.content.decode()
    assert Location.objects.filter(pk=location_a.pk).exists()


def test_a_location_without_incidents_can_be_deleted(coordinator_a, institution_a):
    spare = Location.objects.create(institution=institution_a, code="TYPO", name="Tikfout")
    locations.delete_location(actor=coordinator_a, location=spare)
    assert not Location.objects.filter(code="TYPO").exists()
    assert AuditEvent.objects.get().action == AuditAction.LOCATION_DELETED


def test_the_services_refuse_another_institutions_location(
    coordinator_a, location_b, institution_b
):
    with pytest.raises(PermissionDenied):
        locations.update_location(actor=coordinator_a, location=location_b, changes={"name": "X"})
    with pytest.raises(PermissionDenied):
        locations.create_location(
            actor=coordinator_a, institution=institution_b, code="X", name="X"
        )
    with pytest.raises(PermissionDenied):
        locations.deactivate_location(actor=coordinator_a, location=location_b)


def test_an_administrator_manages_every_institution(client, administrator, institution_b):
    client.force_login(administrator)
    answer = client.get("/accounts/institutions/")
    assert institution_b.name in answer.content.decode()
    client.post(
        f"/accounts/institutions/{institution_b.brin}/locations/", {"code": "B-2", "name": "Beta 2"}
    )
    assert Location.objects.get(code="B-2").institution == institution_b
