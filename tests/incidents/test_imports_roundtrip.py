"""The standard CSV round trip: export -> import is lossless, including cells that a
spreadsheet would run as formulas (escaped on export, unescaped exactly on import)."""

import csv
import io
from datetime import date, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.choices import Injury, Place, VictimRole
from incidents.exporters import write_incidents_csv
from incidents.importers import STANDARD_COLUMNS, ImportOptions, import_incidents
from incidents.models import Incident
from miv.csvfiles import escape_formula, looks_like_formula, unescape_formula
from taxonomy.models import IncidentType
from tests.factories import IncidentFactory, LocationFactory

pytestmark = pytest.mark.django_db

TRICKY_TEXTS = [
    "=SUM(A1:A3)",
    "=cmd|' /C calc'!A0",
    "+31 6 12345678",
    "-5 graden in het lokaal",
    "@jan gaf de melding",
    "'s-Hertogenbosch",
    "'=was al geëscaped",
    "''+twee keer",
    "regel 1\nregel 2\r\nregel 3",
    'puntkomma; komma, "aanhalingstekens"',
    "één — café ✓ 🚲",
    "",
]


def fields(incident: Incident) -> tuple:
    return (
        incident.location.code,
        incident.occurred_on,
        incident.occurred_at,
        incident.incident_type.code,
        incident.place,
        incident.victim_role,
        incident.perpetrator_role,
        incident.injury,
        incident.police_involved,
        incident.measures,
        incident.description,
        incident.external_id,
    )


def snapshot(institution) -> list[tuple]:
    return sorted(
        fields(i)
        for i in Incident.objects.filter(institution=institution).select_related(
            "location", "incident_type"
        )
    )


def export(institution, *, bom=False) -> bytes:
    buffer = io.StringIO(newline="")
    write_incidents_csv(Incident.objects.filter(institution=institution), buffer, bom=bom)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def varied_incidents(institution_a, location_a):
    minus = LocationFactory(institution=institution_a, code="-OOST", name="Oost")
    types = list(IncidentType.objects.order_by("code")[:5])
    for n, text in enumerate(TRICKY_TEXTS):
        IncidentFactory(
            location=minus if n % 3 == 0 else location_a,
            incident_type=types[n % len(types)],
            occurred_on=date(2020 + n % 4, 1 + n % 12, 1 + n),
            occurred_at=[None, time(8, 5), time(23, 59, 30)][n % 3],
            place=Place.values[n % len(Place.values)] if n % 4 else "",
            victim_role=VictimRole.values[n % len(VictimRole.values)],
            perpetrator_role=["student", "staff", "external", "unknown"][n % 4],
            injury=Injury.values[n % len(Injury.values)],
            police_involved=bool(n % 2),
            measures=TRICKY_TEXTS[-1 - n],
            description=text,
            external_id=["", f"-{n:03d}", f"=E{n}", f"TD-{n}"][n % 4],
        )


def test_export_writes_exactly_the_standard_columns(varied_incidents, institution_a):
    rows = list(csv.reader(io.StringIO(export(institution_a).decode())))
    assert rows[0] == STANDARD_COLUMNS
    assert len(rows) == 1 + len(TRICKY_TEXTS)
    cells = [cell for row in rows[1:] for cell in row]
    # No cell would run as a formula in a spreadsheet.
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'=SUM(A1:A3)" in cells and "'-OOST" in cells and "'s-Hertogenbosch" in cells


def test_round_trip_into_another_institution_is_lossless(
    tmp_path, varied_incidents, institution_a, institution_b
):
    path = tmp_path / "export.csv"
    path.write_bytes(export(institution_a, bom=True))
    report = import_incidents(path, institution_b, options=ImportOptions(create_locations=True))
    assert report.ok, list(report.errors)
    assert report.created == len(TRICKY_TEXTS)
    assert snapshot(institution_b) == snapshot(institution_a)


def test_reimporting_an_export_changes_nothing(tmp_path, varied_incidents, institution_a):
    before = snapshot(institution_a)
    path = tmp_path / "export.csv"
    path.write_bytes(export(institution_a))
    report = import_incidents(path, institution_a)
    assert report.ok, list(report.errors)
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(TRICKY_TEXTS))
    assert snapshot(institution_a) == before


@given(st.text())
def test_escaping_is_undone_exactly(value):
    escaped = escape_formula(value)
    assert unescape_formula(escaped) == value
    assert not looks_like_formula(escaped)


# Texts as the registration form stores them: no NUL (PostgreSQL refuses it), no lone
# surrogates, no surrounding whitespace (form fields strip it).
clean_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200
).map(str.strip)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(description=clean_text, measures=clean_text, external_id=clean_text.map(lambda s: s[:100]))
def test_any_text_survives_the_round_trip(
    tmp_path, institution_a, location_a, description, measures, external_id
):
    Incident.objects.all().delete()
    IncidentFactory(
        location=location_a, description=description, measures=measures, external_id=external_id
    )
    before = snapshot(institution_a)
    path = tmp_path / "export.csv"
    path.write_bytes(export(institution_a))
    Incident.objects.all().delete()
    report = import_incidents(path, institution_a)
    assert report.ok, list(report.errors)
    assert snapshot(institution_a) == before
