"""Incident files: the standard CSV and the incident list (CSV and XLSX), written from the
column definitions of :mod:`incidents.columns`.

* :func:`write_incidents_csv`: the standard CSV (:data:`~incidents.columns.STANDARD`), what
  :func:`incidents.importers.import_incidents` reads back, so a round trip is lossless.
* :func:`stream_list_csv` and :func:`write_list_xlsx`: the incident list of a coordinator
  (:data:`~incidents.columns.LIST`: the standard columns plus ``reference`` and ``status``).
  The CSV is streamed; the XLSX is written row by row (write-only workbook on a temporary
  file) with real dates and times, and a second sheet ``codebook`` that explains every
  column in the interface language. Memory does not grow with the number of incidents.

Headers are the columns' machine names in every language; labels for people are in the
codebook (and in ``docs/files.md``). Rows are read with one ``values_list`` query in chunks
(no model objects); the list's CSV lines are written by the database itself
(:func:`csv_lines`, :mod:`miv.csvsql`), byte for byte what Python's ``csv.writer`` writes,
which keeps the export within 4 times the database's own ``COPY ... TO STDOUT``
(``benchmarks/list_export.py``).

Cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-`` or ``@``) are
prefixed with ``'``; the import removes exactly that prefix again (see
:func:`miv.csvfiles.escape_formula`). The caller scopes the queryset
(``Incident.objects.visible_to(user)``): descriptions and measures are personal data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO, Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from miv.csvfiles import escape_formula
from miv.csvsql import CsvLine, escaped_formula, quoted

from .columns import LIST, STANDARD, Column
from .models import Incident

CHUNK = 2000
SHEET = "incidents"
CODEBOOK_SHEET = "codebook"


def _values(incidents, columns: tuple[Column, ...]) -> Iterator[tuple]:
    """The columns' raw values per incident: one query, fetched in chunks."""
    if hasattr(incidents, "values_list"):
        return incidents.values_list(*(c.source for c in columns)).iterator(chunk_size=CHUNK)
    return (tuple(_attribute(incident, c.source) for c in columns) for incident in incidents)


def _attribute(incident: Incident, path: str) -> Any:
    value: Any = incident
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def text_rows(incidents, columns: tuple[Column, ...] = STANDARD) -> Iterator[list]:
    """Each incident as the escaped text cells of ``columns`` (None for an empty cell).

    The hot loop of the XLSX export and the standard CSV (the list's CSV lines are written
    by the database, :func:`csv_lines`): only the columns that format their value are called, and
    only text that may come from outside is escaped."""
    formatted = [
        (i, c.to_text) for i, c in enumerate(columns) if type(c).to_text is not Column.to_text
    ]
    escaped = [i for i, c in enumerate(columns) if not c.formula_safe]
    for values in _values(incidents, columns):
        cells = list(values)
        for i, to_text in formatted:
            cells[i] = to_text(cells[i])
        for i in escaped:
            if cells[i]:
                cells[i] = escape_formula(cells[i])
        yield cells


def incident_row(incident: Incident, columns: tuple[Column, ...] = STANDARD) -> list[str]:
    """One incident as the cells of the standard CSV (escaped against formulas)."""
    return next(text_rows([incident], columns))


def write_incidents_csv(
    incidents: Iterable[Incident],
    fileobj: TextIO,
    *,
    bom: bool = False,
    columns: tuple[Column, ...] = STANDARD,
) -> int:
    """Write ``incidents`` (a queryset or iterable) as CSV to a text file object opened
    with ``newline=""``: the standard columns, or ``columns``. Returns the number of rows.

    ``bom=True`` starts the file with a UTF-8 byte order mark, which Excel needs to read
    accented letters correctly.
    """
    if bom:
        fileobj.write("\ufeff")
    writer = csv.writer(fileobj, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    count = 0
    for cells in text_rows(incidents, columns):
        writer.writerow(cells)
        count += 1
    return count


class _Echo:
    """A file-like object that hands back what is written (for streaming csv.writer)."""

    def write(self, value: str) -> str:
        return value


def stream_list_csv(incidents) -> Iterator[str]:
    """The incident list as CSV lines: a byte order mark, the header and one line per
    incident, fetched in chunks. The same text as ``write_incidents_csv(incidents, f,
    bom=True, columns=LIST)``; for a queryset the database writes the lines
    (:func:`csv_lines`)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([c.name for c in LIST])
    if hasattr(incidents, "annotate"):
        lines: Iterator[str] = csv_lines(incidents, LIST)
    else:
        lines = (writer.writerow(cells) for cells in text_rows(incidents, LIST))
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 200:  # fewer, larger chunks for the response
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_lines(incidents, columns: tuple[Column, ...]) -> Iterator[str]:
    """Each incident of the queryset as its CSV line (``\\r\\n`` at the end), written by the
    database from the columns' :meth:`~incidents.columns.Column.sql_text` with the rules of
    :mod:`miv.csvsql`: byte for byte what ``csv.writer`` writes of :func:`text_rows`, in
    about 60% of the time. Cells of columns that are not ``formula_safe`` are escaped against
    formulas and quoted where CSV needs it; the others hold values MIV wrote itself."""
    cells = []
    for column in columns:
        cell = column.sql_text()
        if not column.formula_safe:
            cell = quoted(cell, escaped_formula(cell))
        cells.append(cell)
    return (
        incidents.annotate(csv_line_=CsvLine(*cells))
        .values_list("csv_line_", flat=True)
        .iterator(chunk_size=CHUNK)
    )


def _xlsx_text(value: str) -> str:
    """A text cell made storable: openpyxl refuses control characters that XML cannot hold
    (a pasted vertical tab); when dropping them uncovers a formula, escape that too."""
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    return escape_formula(cleaned)


def write_list_xlsx(incidents, fileobj: IO[bytes]) -> int:
    """The incident list as a workbook: sheet ``incidents`` (machine names in a bold frozen
    header, dates and times as real cells, text formula-escaped) and sheet ``codebook``.
    Returns the number of incidents."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=SHEET)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in LIST:
        cell = WriteOnlyCell(sheet, value=column.name)
        cell.font = bold
        header.append(cell)
        sheet.column_dimensions[_letter(len(header))].width = column.width
    sheet.append(header)
    converters = [c.to_cell for c in LIST]
    formats = [c.number_format for c in LIST]
    count = 0
    for values in _values(incidents, LIST):
        cells: list[Any] = []
        for convert, number_format, value in zip(converters, formats, values, strict=True):
            cell_value = convert(value)
            if isinstance(cell_value, str):
                cells.append(_xlsx_text(cell_value))
            elif number_format and cell_value is not None:
                cell = WriteOnlyCell(sheet, value=cell_value)
                cell.number_format = number_format
                cells.append(cell)
            else:
                cells.append(cell_value)
        sheet.append(cells)
        count += 1
    write_codebook(workbook, {SHEET: LIST})
    workbook.save(fileobj)
    return count


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


CODEBOOK_HEADER = ["sheet", "column", "label", "description"]


def codebook_rows(tables: dict[str, Iterable[Column]]) -> list[list[str]]:
    """One row per column of each table: its machine name, label and description in the
    active language."""
    return [
        [table, column.name, str(column.label), str(column.description)]
        for table, columns in tables.items()
        for column in columns
    ]


def write_codebook(workbook: Workbook, tables: dict[str, Iterable[Column]]) -> None:
    """The sheet ``codebook`` of a write-only workbook: what each column of ``tables``
    holds, for people (the headers themselves are machine names)."""
    sheet = workbook.create_sheet(title=CODEBOOK_SHEET)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in CODEBOOK_HEADER:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for width, letter in zip((14, 22, 30, 80), "ABCD", strict=True):
        sheet.column_dimensions[letter].width = width
    for row in codebook_rows(tables):
        sheet.append([_xlsx_text(cell) for cell in row])
