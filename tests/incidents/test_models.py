"""Incident invariants in the model (shared by form, admin and API), the school-year
derivation, and the scoping queryset methods."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.choices import Role, Status
from incidents.models import Incident, Institution, Location
from miv.schoolyear import school_year_of
from taxonomy.models import IncidentType, TaxonomyVersion
from tests.factories import IncidentFactory, LocationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- School year -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day,year",
    [
        (date(2023, 7, 31), "2022-2023"),
        (date(2023, 8, 1), "2023-2024"),
        (date(2024, 7, 31), "2023-2024"),
        (date(2024, 8, 1), "2024-2025"),
        (date(2000, 1, 1), "1999-2000"),
        (date(2023, 12, 31), "2023-2024"),
        (date(2024, 1, 1), "2023-2024"),
        (date(2024, 2, 29), "2023-2024"),
    ],
)
def test_school_year_is_derived_from_the_date_and_stored(location_a, day, year):
    assert school_year_of(day) == year
    incident = IncidentFactory(location=location_a, occurred_on=day)
    assert Incident.objects.get(pk=incident.pk).school_year == year


def test_school_year_follows_a_changed_date(incident_a):
    incident_a.occurred_on = date(2023, 8, 1)
    incident_a.save()
    assert Incident.objects.get(pk=incident_a.pk).school_year == "2023-2024"
    incident_a.occurred_on = date(2023, 7, 31)
    incident_a.save()
    assert Incident.objects.get(pk=incident_a.pk).school_year == "2022-2023"


def test_school_year_is_indexed():
    assert Incident._meta.get_field("school_year").db_index


# --- Invariants in clean() -------------------------------------------------------------------


def new_incident(location, **fields) -> Incident:
    values = {
        "location": location,
        "incident_type": IncidentType.objects.get(code="MIS.FYS.06"),
        "occurred_on": date(2024, 3, 14),
        "victim_role": "student",
    }
    values.update(fields)
    return Incident(**values)


def errors_of(incident) -> dict:
    with pytest.raises(ValidationError) as info:
        incident.full_clean()
    return info.value.message_dict


def test_a_valid_incident_passes(location_a):
    new_incident(location_a).full_clean()


def test_date_may_not_be_in_the_future(location_a):
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert "occurred_on" in errors_of(new_incident(location_a, occurred_on=tomorrow))
    new_incident(location_a, occurred_on=timezone.localdate()).full_clean()


def test_date_may_not_be_before_2000(location_a):
    assert "occurred_on" in errors_of(new_incident(location_a, occurred_on=date(1999, 12, 31)))
    new_incident(location_a, occurred_on=date(2000, 1, 1)).full_clean()


def test_a_new_incident_needs_an_active_type(location_a):
    retired = IncidentType.objects.get(code="MIS.FYS.05")
    retired.active = False
    retired.save()
    assert "incident_type" in errors_of(new_incident(location_a, incident_type=retired))


def test_a_type_retired_later_may_stay_on_an_old_incident(incident_a):
    IncidentType.objects.filter(pk=incident_a.incident_type_id).update(active=False)
    incident = Incident.objects.get(pk=incident_a.pk)
    incident.victim_role = "staff"
    incident.full_clean()  # no error: the type was not chosen now


@pytest.mark.parametrize("inactive", ["location", "institution"])
def test_location_and_its_institution_must_be_active(location_a, inactive):
    if inactive == "location":
        Location.objects.filter(pk=location_a.pk).update(active=False)
    else:
        Institution.objects.filter(pk=location_a.institution_id).update(active=False)
    location = Location.objects.get(pk=location_a.pk)
    assert "location" in errors_of(new_incident(location))


def test_an_incident_cannot_move_to_another_institution(incident_a, location_b):
    incident_a.location = location_b
    assert "location" in errors_of(incident_a)


def test_missing_required_fields(location_a):
    errors = errors_of(Incident(location=location_a))
    assert {"incident_type", "occurred_on", "victim_role"} <= set(errors)


def test_oversized_text(location_a):
    errors = errors_of(new_incident(location_a, description="x" * 5001, measures="y" * 5001))
    assert {"description", "measures"} <= set(errors)


def test_save_fills_institution_and_taxonomy_version(location_a):
    incident = new_incident(location_a)
    incident.save()
    assert incident.institution == location_a.institution
    assert incident.taxonomy_version == TaxonomyVersion.current()
    assert incident.reference == f"MIV-{incident.pk:06d}"


# --- Scoping ------------------------------------------------------------------------------------


@pytest.fixture
def incidents(incident_a, incident_b, location_a, coordinator_a):
    colleague = IncidentFactory(location=location_a, registered_by=coordinator_a)
    return {"a": incident_a, "b": incident_b, "colleague": colleague}


@pytest.mark.parametrize(
    "user,visible,editable",
    [
        ("registrar_a", {"a"}, set()),
        ("coordinator_a", {"a", "colleague"}, {"a", "colleague"}),
        ("registrar_b", {"b"}, set()),
        ("coordinator_b", {"b"}, {"b"}),
        ("researcher", set(), set()),
        ("administrator", {"a", "b", "colleague"}, {"a", "b", "colleague"}),
    ],
)
def test_visible_to_and_editable_by(request, incidents, user, visible, editable):
    who = request.getfixturevalue(user)
    names = {incident.pk: name for name, incident in incidents.items()}
    assert {names[i.pk] for i in Incident.objects.visible_to(who)} == visible
    assert {names[i.pk] for i in Incident.objects.editable_by(who)} == editable


def test_anonymous_and_inactive_users_see_nothing(incidents, registrar_a):
    from django.contrib.auth.models import AnonymousUser

    assert not Incident.objects.visible_to(AnonymousUser()).exists()
    assert not Incident.objects.visible_to(None).exists()
    registrar_a.is_active = False
    registrar_a.save()
    assert not Incident.objects.visible_to(registrar_a).exists()


def test_registrable_locations(registrar_a, location_a, location_b, researcher):
    inactive = LocationFactory(institution=location_a.institution, active=False)
    assert list(Location.objects.registrable_by(registrar_a)) == [location_a]
    assert inactive not in Location.objects.registrable_by(registrar_a)
    assert not Location.objects.registrable_by(researcher).exists()


def test_locations_and_institutions_visible_per_role(
    registrar_a, researcher, location_a, location_b
):
    assert set(Location.objects.visible_to(registrar_a)) == {location_a}
    assert set(Institution.objects.visible_to(registrar_a)) == {location_a.institution}
    # Researchers: aggregates only, so no locations; institutions only with named access.
    assert not Location.objects.visible_to(researcher).exists()
    assert not Institution.objects.visible_to(researcher).exists()
    researcher.memberships.update(named_access=True)
    # A new request: roles are read once per request (cached on the user object).
    researcher = type(researcher).objects.get(pk=researcher.pk)
    assert Institution.objects.visible_to(researcher).count() == 2
    assert not Location.objects.visible_to(researcher).exists()


def test_member_of_two_institutions_registers_for_both(db, location_a, location_b):
    user = UserFactory(username="both")
    MembershipFactory(user=user, institution=location_a.institution, role=Role.REGISTRAR)
    MembershipFactory(user=user, institution=location_b.institution, role=Role.COORDINATOR)
    assert set(Location.objects.registrable_by(user)) == {location_a, location_b}
    a = IncidentFactory(location=location_a)  # not registered by the user
    b = IncidentFactory(location=location_b)
    assert list(Incident.objects.visible_to(user)) == [b]
    assert list(Incident.objects.editable_by(user)) == [b]
    assert a not in Incident.objects.visible_to(user)


def test_withdrawn_incidents_do_not_count(incident_a, location_a):
    withdrawn = IncidentFactory(location=location_a, status=Status.WITHDRAWN)
    assert list(Incident.objects.counted()) == [incident_a]
    assert withdrawn in Incident.objects.all()
