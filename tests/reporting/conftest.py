"""Fixtures for the reporting engine: a small, known sector to compute figures for."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from incidents.choices import Status
from incidents.models import Incident
from reporting.models import SafetyScore, StudentCount
from taxonomy.models import IncidentType, TaxonomyVersion
from tests.factories import InstitutionFactory, LocationFactory

YEAR = "2022-2023"
DAY = date(2023, 3, 14)


def add_incidents(
    location,
    n: int,
    *,
    type_code: str = "MIS.FYS.06",
    victim_role: str = "student",
    status: str = Status.OPEN,
    occurred_on: date = DAY,
) -> None:
    """``n`` incidents at ``location``, created in one INSERT (no signals, like an import)."""
    incident_type = IncidentType.objects.get(code=type_code)
    version = TaxonomyVersion.current()
    Incident.objects.bulk_create(
        [
            Incident(
                institution_id=location.institution_id,
                location=location,
                incident_type=incident_type,
                taxonomy_version=version,
                occurred_on=occurred_on,
                school_year=f"{occurred_on.year - (occurred_on.month < 8)}-"
                f"{occurred_on.year + (occurred_on.month >= 8)}",
                victim_role=victim_role,
                status=status,
            )
            for _ in range(n)
        ]
    )


def set_students(institution, students: int, school_year: str = YEAR) -> None:
    StudentCount.objects.update_or_create(
        institution=institution, school_year=school_year, defaults={"students": students}
    )


def set_score(institution, source: str, survey_year: int, value) -> None:
    SafetyScore.objects.update_or_create(
        institution=institution,
        source=source,
        survey_year=survey_year,
        defaults={"value": Decimal(str(value))},
    )


@pytest.fixture
def sector(institution_a, institution_b, location_a, location_b):
    """Institutions A and B (with denominators), C (no denominator) and D (denominator, no
    incidents), with incidents of several types and victim roles in 2022-2023, and a
    withdrawn one and one of another year that must not count."""
    c = InstitutionFactory(brin="40CC", name="ROC Gamma")
    d = InstitutionFactory(brin="50DD", name="ROC Delta")
    location_c = LocationFactory(institution=c, code="C-HQ")
    LocationFactory(institution=d, code="D-HQ")
    set_students(institution_a, 2000)
    set_students(institution_b, 12500)
    set_students(d, 800)
    # A: misconduct and accidents, student and staff victims.
    add_incidents(location_a, 7, type_code="MIS.FYS.06", victim_role="student")
    add_incidents(location_a, 3, type_code="MIS.FYS.06", victim_role="staff")
    add_incidents(location_a, 2, type_code="MIS.VER.01", victim_role="visitor")
    add_incidents(location_a, 4, type_code="ONG.ONV.01", victim_role="student")
    add_incidents(location_a, 1, type_code="BRA.01", victim_role="none")
    add_incidents(location_a, 5, type_code="MIS.FYS.06", status=Status.WITHDRAWN)
    add_incidents(location_a, 9, type_code="MIS.FYS.06", occurred_on=date(2023, 8, 1))
    # B: more incidents, closed ones count too.
    add_incidents(location_b, 20, type_code="MIS.VER.01", victim_role="staff")
    add_incidents(location_b, 11, type_code="MIS.BED.01", victim_role="student")
    add_incidents(location_b, 6, type_code="ONG.ZIE.01", victim_role="unknown")
    add_incidents(location_b, 2, type_code="MIL.01", victim_role="staff", status=Status.CLOSED)
    # C: registers, but has no student count.
    add_incidents(location_c, 4, type_code="MIS.FYS.06")
    return {"a": institution_a, "b": institution_b, "c": c, "d": d}


@pytest.fixture
def five(db):
    """Five institutions with rates 5, 10, 15, 20, 25 per 1,000 and JOB scores."""
    institutions = []
    for i, (count, job) in enumerate(zip([5, 10, 15, 20, 25], [70, 90, 80, 60, 85], strict=True)):
        institution = InstitutionFactory(brin=f"6{i}AA", name=f"College {i}")
        location = LocationFactory(institution=institution, code=f"L{i}")
        set_students(institution, 1000)
        add_incidents(location, count)
        set_score(institution, "job", 2023, job)  # held in 2022-2023
        set_score(institution, "job", 2021, 80 + i)  # an older survey
        set_score(institution, "job", 2025, 50)  # a later survey: not the default
        institutions.append(institution)
    return institutions


@pytest.fixture
def fresh_cache():
    """An empty cache before and after the test (charts and figures are kept there)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    """The known test sector of :mod:`tests.reporting.world` (modules with a sector of
    their own define their own ``world``)."""
    from .world import build_world

    return build_world(institution_a, institution_b, location_a, location_b)
