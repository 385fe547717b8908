"""Files of exports: tables of machine-named columns written as CSV, a zip of CSV files, or
XLSX, each with a codebook.

Formats: **XLSX** (one sheet per table named ``delivery``, ``rates``, ``trend``, frozen bold
header, and a sheet ``codebook``) and **CSV**: one table per file
(``?table=delivery|rates|trend|policy``), or, without a table, a **zip** with all CSV files
and ``codebook.csv``. Sheet and column names are stable machine names (``rate``,
``ci_low``), the same in every interface language; the codebook gives each column's label
in the user's language (``docs/files.md`` documents them all). Codes (``victim_role_code``,
``group_code``) are stable too; the label columns beside them follow the language. CSV files
are UTF-8 with a byte order mark (so Excel reads accented letters), comma separated, CRLF,
"." as decimal separator, empty cells for "no value". Rates are rounded to 4 decimals in
both formats, so the XLSX holds exactly the numbers of the CSV. Text cells that a
spreadsheet would run as a formula are escaped (``miv.csvfiles.escape_formula``) in both.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from miv.csvfiles import escape_formula
from miv.numbers import csv_number
from miv.xlsxfiles import XLSX_CONTENT_TYPE as XLSX_CONTENT_TYPE  # for the views

FORMATS = ("csv", "xlsx")


@dataclass
class Column:
    """One column of an export table: ``key`` is its machine name in the file, ``header``
    its label for people (in the codebook)."""

    key: str
    header: str
    number_format: str | None = None
    width: int = 14


@dataclass
class ExportTable:
    """One table of an export: a name, columns and rows of plain values."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)

    def header(self) -> list[str]:
        """The columns' labels for people, in the active language."""
        return [c.header for c in self.columns]

    def keys(self) -> list[str]:
        """The columns' machine names: the header row of every file."""
        return [c.key for c in self.columns]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("ja") if value else _("nee")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return escape_formula(str(value))


def _excel_value(value: Any) -> str:
    if isinstance(value, float):
        text = csv_number(value, 6)  # 12,500000 -> 12,5; 3,000000 -> 3
        return text.rstrip("0").rstrip(",") if "," in text else text
    return _csv_value(value)


def write_csv(table: ExportTable, fileobj: IO[str], *, for_excel: bool = False) -> None:
    """One table as CSV to a text file opened with ``newline=""``.

    ``for_excel``: for people who open it in Excel with the reader's language settings —
    in Dutch ``;`` between cells and a decimal comma (``12,5``), as Dutch Excel reads
    them; in English the plain CSV. Data files (the yearly export, the research API) keep
    ``,`` and ``.`` in every language."""
    dutch = for_excel and (get_language() or "nl").startswith("nl")
    fileobj.write("\ufeff")
    writer = csv.writer(fileobj, lineterminator="\r\n", delimiter=";" if dutch else ",")
    writer.writerow(table.keys())
    value = _excel_value if dutch else _csv_value
    for row in table.rows:
        writer.writerow([value(v) for v in row])


def csv_bytes(table: ExportTable, *, for_excel: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    write_csv(table, buffer, for_excel=for_excel)
    return buffer.getvalue().encode("utf-8")


CODEBOOK = "codebook"


def codebook_table(tables: list[ExportTable]) -> ExportTable:
    """What each column of ``tables`` is, for people: sheet (table), column (machine name)
    and label in the active language."""
    columns = [
        Column("sheet", _("Tabel"), width=12),
        Column("column", _("Kolom"), width=20),
        Column("label", _("Betekenis"), width=40),
    ]
    rows = [[t.key, c.key, c.header] for t in tables for c in t.columns]
    return ExportTable(CODEBOOK, _("Codeboek"), columns, rows)


def write_zip(tables: list[ExportTable], fileobj: IO[bytes], stem: str) -> None:
    """The tables as CSV files in one zip: ``<stem>-delivery.csv`` and so on, and
    ``<stem>-codebook.csv``."""
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in [*tables, codebook_table(tables)]:
            archive.writestr(f"{stem}-{table.key}.csv", csv_bytes(table))


def _xlsx_text(value: str) -> str:
    # openpyxl refuses control characters that XML cannot hold (a pasted vertical tab):
    # drop them first, then escape, so "\x01=1+1" cannot become a formula.
    return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value))


def write_xlsx(tables: list[ExportTable], fileobj: IO[bytes]) -> None:
    """One sheet per table, named by its key: bold frozen header of machine names, column
    widths and number formats; then the sheet ``codebook``."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for table in [*tables, codebook_table(tables)]:
        sheet = workbook.create_sheet(title=table.key[:31])
        sheet.append(table.keys())
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([_xlsx_text(v) if isinstance(v, str) else v for v in row])
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            if column.number_format:
                for (cell,) in sheet.iter_rows(
                    min_row=2, min_col=index, max_col=index, max_row=sheet.max_row
                ):
                    cell.number_format = column.number_format
        sheet.freeze_panes = "A2"
        if table.rows:
            sheet.auto_filter.ref = sheet.dimensions
    workbook.save(fileobj)
