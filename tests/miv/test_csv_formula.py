"""Formula escaping per OWASP's CSV-injection list (issue 14): every cell MIV writes to a
CSV or XLSX file that a spreadsheet would run as a formula gets a leading "'", and the
import undoes exactly that."""

from __future__ import annotations

import csv
import io

import pytest

from miv.csvfiles import escape_formula, unescape_formula

# OWASP "CSV Injection": cells starting with =, +, -, @, tab (0x09) or carriage return
# (0x0D); and the full-width forms of = + - @ (U+FF1D, U+FF0B, U+FF0D, U+FF20).
PAYLOADS = [
    '=HYPERLINK("http://evil.example","klik")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1dcmd|' /C calc'!A0",  # ＝
    "\uff0b1+1",  # ＋
    "\uff0d1+1",  # －
    "\uff20SUM(A1)",  # ＠
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_formula_start_of_the_owasp_list_is_escaped(payload):
    escaped = escape_formula(payload)
    assert escaped == "'" + payload
    assert unescape_formula(escaped) == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_already_escaped_looking_cell_still_round_trips(payload):
    cell = "'" + payload  # text that happens to start with "'" and a formula character
    assert escape_formula(cell) == "''" + payload
    assert unescape_formula(escape_formula(cell)) == cell


@pytest.mark.parametrize("text", ["Vechtpartij", "'s-Hertogenbosch", " =1", "1-2", "", "A\t=1"])
def test_ordinary_text_is_left_alone(text):
    assert escape_formula(text) == text
    assert unescape_formula(text) == text


@pytest.mark.django_db
def test_the_incident_export_escapes_a_description_with_a_full_width_formula(
    client, coordinator_a, incident_a
):
    incident_a.description = '\uff1dHYPERLINK("http://evil.example")'
    incident_a.measures = "\tgesprek"
    incident_a.save(update_fields=["description", "measures"])
    client.force_login(coordinator_a)
    response = client.get("/incidents/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + incident_a.description in cells
    assert "'" + incident_a.measures in cells
    assert incident_a.description not in cells and incident_a.measures not in cells
