"""Reading Excel workbooks (XLSX) from the outside world, as :mod:`miv.csvfiles` reads CSV.

Institutions export their registers, DUO counts and survey scores from Excel; MIV reads the
workbook as it is, with the same interface as :class:`~miv.csvfiles.CsvSource`, so every
importer checks an XLSX file exactly as a CSV file (same messages, line numbers, all or
nothing):

* **The first worksheet** is read (a note names it, and says when others were ignored);
  its first non-empty row is the header, the row numbers are Excel's own.
* **Streaming**: openpyxl's ``read_only`` mode parses the sheet's XML row by row; the
  sheet is never held in memory. (openpyxl does hold the workbook's shared-strings table,
  which is bounded by the check below.)
* **Values, not formulas** (``data_only``): a formula cell gives the value Excel last
  calculated. Cells become the text a CSV export would hold: numbers without a trailing
  ``.0``, dates as ``2023-03-14``, date-times as ``2023-03-14 10:15``, times as ``10:15``,
  booleans as ``true``/``false``. An importer then parses them exactly as CSV cells.
* **Size**: the upload limit of CSV (``MIV_IMPORT_MAX_BYTES``) applies to the file, and the
  unpacked workbook may be at most :data:`MAX_EXPANSION` times that (a zip bomb is refused
  before a single row is read).

Limits: ``.xls`` (Excel 97-2003), ``.ods`` and password-protected workbooks are refused
with a message asking for XLSX or CSV; hidden sheets are not skipped (the first sheet is
the first sheet).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from .csvfiles import MAX_COLUMNS, _too_large, header_key, max_import_bytes
from .importreport import ErrorList, Progress, TableFileError

MAX_EXPANSION = 20
XLSX_SIGNATURE = b"PK\x03\x04"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    return str(value).strip()


@dataclass
class XlsxSource:
    """An opened, checked workbook: its first sheet's header is known. Iterate :meth:`rows`
    once; it streams the sheet."""

    fileobj: BinaryIO
    name: str
    sheet_name: str
    other_sheets: int
    total_rows: int | None
    header: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    header_line: int = 1
    line_num: int = 0
    data_rows: int = 0
    _rows: Iterator[tuple] | None = None
    _workbook: Any = None
    _close: bool = False

    def describe(self) -> str:
        text = _("Excel-werkmap, werkblad '%(sheet)s'.") % {"sheet": self.sheet_name}
        if self.other_sheets:
            text += " " + _("%(count)s andere werkbladen zijn niet gelezen.") % {
                "count": self.other_sheets
            }
        return text

    def index(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            if key:
                result.setdefault(key, i)
        return result

    def duplicated(self, key: str) -> bool:
        return self.keys.count(key) > 1

    def fraction(self) -> float:
        return min(1.0, self.line_num / self.total_rows) if self.total_rows else 0.0

    def rows(
        self, errors: ErrorList, *, progress: Progress | None = None, every: int = 2000
    ) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(row number, cells)`` like :meth:`miv.csvfiles.CsvSource.rows`. Excel
        leaves trailing empty cells out, so a short row is padded, not refused; filled
        cells beyond the header are an error."""
        assert self._rows is not None, "open_xlsx() reads the header first"
        width = len(self.header)
        count = 0
        for values in self._rows:
            self.line_num += 1
            count += 1
            if progress is not None and count % every == 0:
                progress(self.fraction())
            cells = [cell_text(v) for v in values[: max(width, 1) + MAX_COLUMNS]]
            if not any(cells):
                continue
            self.data_rows += 1
            if len(cells) > width:
                if any(cells[width:]):
                    errors.add(
                        self.line_num,
                        "",
                        _("De rij heeft %(found)s kolommen, de kopregel maar %(expected)s.")
                        % {"found": _last_filled(cells), "expected": width},
                    )
                    continue
                del cells[width:]
            elif len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            yield self.line_num, cells
        if progress is not None:
            progress(1.0)

    def close(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
        if self._close:
            self.fileobj.close()

    def __enter__(self) -> XlsxSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _last_filled(cells: list[str]) -> int:
    for i in range(len(cells), 0, -1):
        if cells[i - 1]:
            return i
    return 0


def _not_a_workbook() -> TableFileError:
    return TableFileError(
        _(
            "Dit zip-bestand is geen Excel-werkmap (xlsx). Sla het op als Excel-werkmap of "
            "als CSV (UTF-8)."
        )
    )


def _damaged() -> TableFileError:
    return TableFileError(
        _(
            "Dit lijkt een Excel-werkmap (xlsx), maar ze is beschadigd of afgebroken. Sla "
            "haar opnieuw op als Excel-werkmap of als CSV (UTF-8)."
        )
    )


def _check_archive(fileobj: BinaryIO, limit: int) -> None:
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged() from None
    if "xl/workbook.xml" not in names:
        raise _not_a_workbook()
    if unpacked > MAX_EXPANSION * limit:
        raise TableFileError(_too_large(limit))


def open_xlsx(source: str | Path | BinaryIO, *, name: str | None = None) -> XlsxSource:
    """Open and check a workbook and read its header. Raises :class:`TableFileError`."""
    from openpyxl import load_workbook

    close = isinstance(source, str | Path)
    fileobj: BinaryIO = open(source, "rb") if close else source  # noqa: SIM115
    workbook = None
    try:
        limit = max_import_bytes()
        fileobj.seek(0, 2)
        if fileobj.tell() > limit:
            raise TableFileError(_too_large(limit))
        fileobj.seek(0)
        _check_archive(fileobj, limit)
        fileobj.seek(0)
        try:
            with warnings.catch_warnings():
                # openpyxl warns about styles and extensions it does not read: not our case.
                warnings.simplefilter("ignore")
                workbook = load_workbook(fileobj, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any parse failure means "no readable workbook"
            raise _damaged() from None
        if not workbook.worksheets:
            raise _not_a_workbook()
        sheet = workbook.worksheets[0]
        total = sheet.max_row if isinstance(sheet.max_row, int) else None
        result = XlsxSource(
            fileobj=fileobj,
            name=name or Path(getattr(fileobj, "name", "") or str(source)).name,
            sheet_name=sheet.title,
            other_sheets=len(workbook.worksheets) - 1,
            total_rows=total,
            _workbook=workbook,
            _close=close,
        )
        rows = sheet.iter_rows(values_only=True)
        header: list[str] = []
        for values in rows:
            result.line_num += 1
            header = [cell_text(v) for v in values[: MAX_COLUMNS + 1]]
            if any(header):
                break
        if not any(header):
            raise TableFileError(_("Het werkblad '%(sheet)s' is leeg.") % {"sheet": sheet.title})
        while header and not header[-1]:
            header.pop()
        if len(header) > MAX_COLUMNS:
            raise TableFileError(
                _("De kopregel heeft meer dan %(max)s kolommen; dat kan niet kloppen.")
                % {"max": MAX_COLUMNS},
                line=result.line_num,
            )
        result.header_line = result.line_num
        result.header = header
        result.keys = [header_key(h) for h in header]
        result._rows = rows
        return result
    except BaseException:
        if workbook is not None:
            workbook.close()
        if close:
            fileobj.close()
        raise
