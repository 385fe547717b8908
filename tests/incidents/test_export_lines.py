"""The incident list's CSV lines written by the database (:mod:`miv.csvsql`) are byte for
byte what Python's ``csv.writer`` writes of the same incidents (``text_rows``), for the cells
most likely to differ: quotes, commas and line breaks, every formula start, text that only
looks escaped, empty and missing values, times with and without seconds, references past
six digits. Runs on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import time

import pytest

from incidents.choices import Injury, PerpetratorRole, Place, Status, VictimRole
from incidents.columns import BY_NAME, LIST
from incidents.exporters import csv_lines, stream_list_csv, text_rows
from incidents.models import Incident
from tests.factories import IncidentFactory, LocationFactory

pytestmark = pytest.mark.django_db

TEXTS = [
    "",
    "Gewoon een zin.",
    'Hij riep "stop", en liep weg.',
    "Twee regels\r\nmet Windows-einde",
    "Regel\nen nog een",
    "alleen\rCR",
    '"',
    ",",
    "=1+1",
    "+31 6 12345678",
    "-5",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\uff1dcmd",
    "\uff0b1",
    "\uff0d1",
    "\uff20x",
    "'=al escaped",
    "''+dubbel",
    "'s-Hertogenbosch",
    " =spatie eerst",
    "ünïcödé — ✓",
    'mix, "quotes"\nand =formula',
]
TIMES = [None, time(10, 15), time(0, 0), time(23, 59, 30), time(8, 5, 0, 500000), time(9, 0, 0, 1)]


@pytest.fixture
def nasty_incidents(institution_a):
    locations = [
        LocationFactory(institution=institution_a, code=code, name=f"Vestiging {n}")
        for n, code in enumerate(["A-HQ", "=LOC", 'B,"2"'])
    ]
    for n, text in enumerate(TEXTS):
        IncidentFactory(
            location=locations[n % len(locations)],
            description=text or "leeg elders",
            measures=text,
            external_id=text[:40],
            occurred_at=TIMES[n % len(TIMES)],
            police_involved=n % 2 == 0,
            victim_role=list(VictimRole)[n % len(VictimRole)],
            perpetrator_role=list(PerpetratorRole)[n % len(PerpetratorRole)],
            injury=list(Injury)[n % len(Injury)],
            place=list(Place)[n % len(Place)],
            status=list(Status)[n % len(Status)],
        )
    IncidentFactory(id=1_234_567, location=locations[0])  # a reference past six digits
    return Incident.objects.filter(institution=institution_a).order_by("id")


def python_lines(incidents) -> list[str]:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(text_rows(incidents, LIST))
    return buffer.getvalue().splitlines(keepends=True)


def test_the_database_writes_the_same_lines_as_the_csv_writer(nasty_incidents):
    database = list(csv_lines(nasty_incidents, LIST))
    assert len(database) == len(TEXTS) + 1
    # Compare line by line (a line here is one incident, line breaks in cells included).
    expected = "".join(python_lines(nasty_incidents))
    assert "".join(database) == expected
    for line, incident in zip(database, nasty_incidents, strict=True):
        assert line.endswith("\r\n")
        (cells,) = csv.reader(io.StringIO(line))
        assert cells == [cell or "" for cell in next(text_rows([incident], LIST))]


def test_the_streamed_list_is_the_csv_writers_text(nasty_incidents):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in LIST])
    writer.writerows(text_rows(nasty_incidents, LIST))
    streamed = "".join(stream_list_csv(nasty_incidents))
    assert streamed == "\ufeff" + buffer.getvalue()
    # The same from a list of incidents (no query to build the lines in).
    assert "".join(stream_list_csv(list(nasty_incidents))) == streamed


def test_some_cells_are_escaped_and_quoted_as_expected(nasty_incidents):
    """Independently of the Python writer: a few lines spelled out."""
    lines = {line.split(",")[0]: line for line in csv_lines(nasty_incidents, LIST)}
    assert set(lines) >= {"A-HQ", "'=LOC", '"B'}
    by_description = {
        incident.description: line
        for incident, line in zip(nasty_incidents, csv_lines(nasty_incidents, LIST), strict=True)
    }
    assert ',"Hij riep ""stop"", en liep weg.",' in by_description['Hij riep "stop", en liep weg.']
    assert ",'=1+1," in by_description["=1+1"]
    assert ",''=al escaped," in by_description["'=al escaped"]
    assert ",'s-Hertogenbosch," in by_description["'s-Hertogenbosch"]
    assert ',"\'\r=1+1",' in by_description["\r=1+1"]
    (empty,) = csv.reader(io.StringIO(by_description["leeg elders"]))
    assert empty[LIST.index(BY_NAME["measures"])] == ""  # empty measures: an empty cell
    assert empty[LIST.index(BY_NAME["external_id"])] == ""
    assert sum(",MIV-1234567," in line for line in by_description.values()) == 1


def test_the_times_are_written_as_time_text(nasty_incidents):
    occurred_at = LIST.index(BY_NAME["occurred_at"])
    written = {
        cells[occurred_at]
        for line in csv_lines(nasty_incidents, LIST)
        for cells in csv.reader(io.StringIO(line))
    }
    assert written == {"", "10:15", "00:00", "23:59:30", "08:05:00.500000", "09:00:00.000001"}


def test_values_of_formula_safe_columns_never_need_escaping_or_quotes():
    """The database quotes and escapes only columns that are not ``formula_safe``; the
    fixed values of the others must never need it."""
    checked = []
    for column in LIST:
        if not column.formula_safe or not hasattr(column, "values"):
            continue
        checked.append(column.name)
        for value in column.values:
            assert not any(ch in value for ch in ',"\r\n'), (column.name, value)
            assert value[0] not in "=+-@\t\r'", (column.name, value)
    assert sorted(checked) == ["injury", "perpetrator_role", "place", "status", "victim_role"]
