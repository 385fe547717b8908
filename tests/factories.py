"""factory_boy factories shared by all tests."""

from datetime import date

import factory
from django.contrib.auth import get_user_model

from incidents.choices import InstitutionKind, Role, VictimRole
from incidents.models import Incident, Institution, Location, Membership
from taxonomy.models import IncidentType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ["brin"]

    brin = factory.Sequence(
        lambda n: f"{10 + n % 90:02d}{chr(65 + (n // 90) % 26)}{chr(65 + n % 26)}"
    )
    name = factory.Sequence(lambda n: f"Testcollege {n}")
    kind = InstitutionKind.ROC
    region = "west"
    urbanity = 2


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    institution = factory.SubFactory(InstitutionFactory)
    code = factory.Sequence(lambda n: f"LOC{n}")
    name = factory.Sequence(lambda n: f"Vestiging {n}")
    municipality = "Utrecht"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    role = Role.REGISTRAR


def incident_type(code: str = "MIS.FYS.06") -> IncidentType:
    """A type from the loaded MIV-2023 taxonomy (default: Vechtpartij)."""
    return IncidentType.objects.get(code=code)


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    location = factory.SubFactory(LocationFactory)
    institution = factory.LazyAttribute(lambda o: o.location.institution)
    incident_type = factory.LazyFunction(incident_type)
    occurred_on = date(2023, 3, 14)
    victim_role = VictimRole.STUDENT
    description = "Twee studenten vochten in de kantine."
