"""A small sector with computed figures for the tests of issue 6 (exports, research API,
dashboards, browser): institutions A and B of ``tests/conftest.py`` and six more, two
school years, JOB and MO scores, counts big enough for rates and small enough (1-4) for
disclosure control to have work to do."""

from __future__ import annotations

from datetime import date

from incidents.choices import InstitutionKind, Region, Status
from reporting import engine
from tests.factories import InstitutionFactory, LocationFactory

from .conftest import add_incidents, set_score, set_students

YEAR = "2022-2023"
PREVIOUS = "2021-2022"
DAY = date(2023, 3, 14)
PREVIOUS_DAY = date(2022, 3, 14)

# (brin, kind, region, urbanity, students, multiplier, job %, mo score)
OTHERS = [
    ("71AA", InstitutionKind.ROC, Region.WEST, 1, 22000, 3.0, 76.0, 7.4),
    ("72AB", InstitutionKind.ROC, Region.OOST, 3, 15000, 2.0, 82.0, 8.0),
    ("73AC", InstitutionKind.ROC, Region.ZUID, 2, 9000, 1.5, 80.0, 7.8),
    ("74AD", InstitutionKind.AOC, Region.NOORD, 5, 3000, 0.6, 88.0, 8.5),
    ("75AE", InstitutionKind.VAK, Region.WEST, 1, 2500, 0.4, 86.0, 8.3),
    ("76AF", InstitutionKind.ROC, Region.ZUID, 3, 4000, 1.0, 79.0, 7.6),
]


# (type, victim role, count at scale 1, at least one)
MIX = [
    ("MIS.FYS.06", "student", 20, False),
    ("MIS.VER.01", "staff", 8, False),
    ("MIS.BED.01", "visitor", 5, False),
    ("ONG.ONV.01", "student", 6, False),
    ("ONG.ZIE.01", "staff", 2, True),
    ("BRA.01", "none", 1.5, True),
    ("MIL.01", "staff", 1, True),
]


def _incidents(location, scale: float, day: date) -> None:
    """A mix of categories and victim roles; small counts in fire and environment."""
    for type_code, victim_role, count, at_least_one in MIX:
        n = round(count * scale)
        add_incidents(
            location,
            max(1, n) if at_least_one else n,
            type_code=type_code,
            victim_role=victim_role,
            occurred_on=day,
        )


def build_world(institution_a, institution_b, location_a, location_b) -> dict:
    """Create the sector and compute both years. Returns the institutions by BRIN."""
    institutions = {"25LJ": institution_a, "30RR": institution_b}
    for inst, kind, region, urbanity in (
        (institution_a, InstitutionKind.ROC, Region.WEST, 2),
        (institution_b, InstitutionKind.ROC, Region.NOORD, 4),
    ):
        inst.kind, inst.region, inst.urbanity = kind, region, urbanity
        inst.save()
    locations = {"25LJ": location_a, "30RR": location_b}
    set_students(institution_a, 12000)
    set_students(institution_b, 6000)
    set_students(institution_a, 11800, PREVIOUS)
    set_students(institution_b, 5900, PREVIOUS)
    _incidents(location_a, 2.5, DAY)
    _incidents(location_b, 0.8, DAY)
    _incidents(location_a, 2.0, PREVIOUS_DAY)
    _incidents(location_b, 0.7, PREVIOUS_DAY)
    # Withdrawn registrations and another year do not count.
    add_incidents(location_a, 3, type_code="MIS.FYS.06", status=Status.WITHDRAWN)
    add_incidents(location_a, 4, type_code="MIS.FYS.06", occurred_on=date(2023, 9, 1))
    for value_a, value_b, survey in ((81.0, 84.0, 2022),):
        set_score(institution_a, "job", survey, value_a)
        set_score(institution_b, "job", survey, value_b)
        set_score(institution_a, "mo", survey, 7.9)
        set_score(institution_b, "mo", survey, 8.2)
    for brin, kind, region, urbanity, students, scale, job, mo in OTHERS:
        inst = InstitutionFactory(
            brin=brin, name=f"College {brin}", kind=kind, region=region, urbanity=urbanity
        )
        location = LocationFactory(institution=inst, code=f"L-{brin}", name=f"Locatie {brin}")
        set_students(inst, students)
        set_students(inst, int(students * 0.97), PREVIOUS)
        _incidents(location, scale, DAY)
        _incidents(location, scale * 0.9, PREVIOUS_DAY)
        set_score(inst, "job", 2022, job)
        set_score(inst, "mo", 2022, mo)
        institutions[brin] = inst
        locations[brin] = location
    engine.compute_school_year(PREVIOUS)
    engine.compute_school_year(YEAR)
    return {"institutions": institutions, "locations": locations}
