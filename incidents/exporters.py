"""The standard incident CSV: what MIV exports and imports, so a round trip is lossless.

Columns (in this order): ``location`` (location code), ``occurred_on`` (ISO date),
``incident_type`` (type code), ``victim_role``, ``occurred_at`` (``HH:MM``, seconds only
when set), ``place``, ``perpetrator_role``, ``injury``, ``police_involved`` (``ja``/``nee``),
``measures``, ``description``, ``external_id``. Choice fields carry their stable values
(``student``, ``staff``, ...).

Cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-`` or ``@``) are
prefixed with ``'``; :func:`incidents.importers.import_incidents` removes exactly that
prefix again (see :func:`miv.csvfiles.escape_formula`).

The caller scopes the queryset (``Incident.objects.visible_to(user)``): descriptions and
measures are personal data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import time
from typing import TextIO

from miv.csvfiles import escape_formula

from .importers import STANDARD_COLUMNS
from .models import Incident


def _time(value: time | None) -> str:
    if value is None:
        return ""
    if value.microsecond:
        return value.isoformat()
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def incident_row(incident: Incident) -> list[str]:
    """One incident as the cells of the standard CSV (escaped against formulas)."""
    cells = [
        incident.location.code,
        incident.occurred_on.isoformat(),
        incident.incident_type.code,
        incident.victim_role,
        _time(incident.occurred_at),
        incident.place,
        incident.perpetrator_role,
        incident.injury,
        "ja" if incident.police_involved else "nee",
        incident.measures,
        incident.description,
        incident.external_id,
    ]
    return [escape_formula(cell) for cell in cells]


def write_incidents_csv(
    incidents: Iterable[Incident], fileobj: TextIO, *, bom: bool = False
) -> int:
    """Write ``incidents`` (a queryset or iterable) as standard CSV to a text file object
    opened with ``newline=""``. Streams a queryset in chunks; returns the number of rows.

    ``bom=True`` starts the file with a UTF-8 byte order mark, which Excel needs to read
    accented letters correctly.
    """
    if bom:
        fileobj.write("\ufeff")
    writer = csv.writer(fileobj, lineterminator="\r\n")
    writer.writerow(STANDARD_COLUMNS)
    if hasattr(incidents, "iterator"):
        incidents = incidents.select_related("location", "incident_type").iterator(chunk_size=2000)
    count = 0
    for incident in incidents:
        writer.writerow(incident_row(incident))
        count += 1
    return count
