"""The one import driver: open a CSV or XLSX file, check every row, and write all or nothing.

Every import of MIV (incidents, DUO student counts, survey scores) is an
:class:`Importer` run by :func:`run_import`. The driver owns what they share:

* **Reading**: :func:`open_table` picks the reader by the file's first bytes (an XLSX
  workbook is a zip; anything else is read as CSV, which refuses binary files with a clear
  message); both give the same header, line numbers and streaming rows.
* **All or nothing**: with ``commit`` the whole run is one transaction. The importer may
  write while it reads (in batches, so memory stays flat); when any row turned out bad,
  the transaction is rolled back and the report lists every error. Without ``commit``
  (the dry run of the web upload and ``--dry-run``) nothing is written at all.
* **Concurrent changes**: a unique constraint that fails because someone else changed the
  same data meanwhile becomes a report error ("try again"), never a crash.
* **The report**: rows read, notes on how the file was read, and "no data rows" as an
  error.

An importer says how a header is understood (:meth:`Importer.start`), how one row is
checked (:meth:`Importer.row`), and what is written at the end (:meth:`Importer.finish`).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .csvfiles import CsvSource, open_csv
from .importreport import ImportReport, Progress, TableFileError
from .xlsxfiles import XLSX_SIGNATURE, XlsxSource, open_xlsx

Table = CsvSource | XlsxSource


def source_name(source: str | Path | BinaryIO, name: str | None = None) -> str:
    return name or Path(getattr(source, "name", "") or str(source)).name


def open_table(source: str | Path | BinaryIO, *, name: str | None = None) -> Table:
    """Open a CSV file or an Excel workbook and read its header. Raises
    :class:`~miv.importreport.TableFileError` when it is neither or cannot be read."""
    if isinstance(source, str | Path):
        with open(source, "rb") as probe:
            head = probe.read(4)
    else:
        source.seek(0)
        head = source.read(4)
        source.seek(0)
    if head.startswith(XLSX_SIGNATURE):
        return open_xlsx(source, name=name)
    return open_csv(source, name=name)


class _Rollback(Exception):
    """Raised inside the import transaction to undo everything when a row is bad."""


class Importer:
    """One run of one import over one file; see the module docstring. ``report.errors``
    collects the errors, ``commit`` says whether :meth:`finish` may write."""

    kind = ""

    def __init__(self, *, commit: bool = True, report: ImportReport | None = None):
        self.commit = commit
        self.report = report or ImportReport(kind=self.kind)
        self.errors = self.report.errors

    def lock(self) -> None:
        """Take the locks the import needs, first thing in its transaction."""

    def start(self, table: Table) -> bool:
        """Understand the header; add errors and return False when the file cannot be
        imported at all."""
        raise NotImplementedError

    def row(self, line: int, cells: list[str]) -> None:
        """Check one data row; errors go to ``self.errors``."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last row of a file without errors: decide and, with ``commit``,
        write. Runs inside the import's transaction."""

    def summarise(self) -> None:
        """Fill the report's sections, whatever the outcome."""


def _read(importer: Importer, table: Table, progress: Progress | None) -> None:
    report = importer.report
    if not importer.start(table):
        return
    for line, cells in table.rows(report.errors, progress=progress):
        importer.row(line, cells)
    report.rows = table.data_rows
    if report.rows == 0 and not report.errors:
        report.errors.add(0, "", _("Het bestand bevat geen gegevensrijen."))
    if not report.errors:
        importer.finish()


def run_import(
    importer: Importer,
    source: str | Path | BinaryIO,
    *,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Run ``importer`` over the file ``source`` (a path or a seekable binary file);
    all or nothing when ``importer.commit``. Returns its report."""
    report = importer.report
    report.source_name = source_name(source, name)
    try:
        with open_table(source, name=report.source_name) as table:
            report.source_name = table.name
            report.notes.append(table.describe())
            if not importer.commit:
                _read(importer, table, progress)
            else:
                try:
                    with transaction.atomic():
                        importer.lock()
                        _read(importer, table, progress)
                        if report.errors:
                            raise _Rollback
                        report.committed = True
                except _Rollback:
                    report.rolled_back()
                except IntegrityError as exc:
                    report.rolled_back()
                    report.errors.add(
                        0,
                        "",
                        _(
                            "Tijdens de import veranderden dezelfde gegevens ook elders "
                            "(%(reason)s). Er is niets opgeslagen; probeer het opnieuw."
                        )
                        % {"reason": _short(str(exc), 120)},
                    )
    except TableFileError as exc:
        report.fatal(exc)
        report.rolled_back()
    importer.summarise()
    return report


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
