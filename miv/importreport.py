"""What every import reports: row errors with their line and column, and the summary.

Shared by the readers (:mod:`miv.csvfiles`, :mod:`miv.xlsxfiles`), the one import driver
(:mod:`miv.imports`) and the importers of the apps. No Django models here; only settings
and translations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_MAX_ERRORS = 100_000

# Called with the fraction of the file read so far (0.0 to 1.0).
Progress = Callable[[float], None]


def max_errors() -> int:
    return int(getattr(settings, "MIV_IMPORT_MAX_ERRORS", DEFAULT_MAX_ERRORS))


class TableFileError(Exception):
    """The file as a whole cannot be read (binary, too large, broken quoting, not a
    workbook, ...). ``line`` is where reading stopped (0: the file as such)."""

    def __init__(self, message: str, *, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class RowError:
    """One reason why one row (or the file, line 0) cannot be imported."""

    line: int
    column: str
    message: str

    def as_list(self) -> list:
        return [self.line, self.column, self.message]

    def __str__(self) -> str:
        where = _("regel %(line)s") % {"line": self.line} if self.line else _("bestand")
        if self.column:
            where += ", " + _("kolom %(column)s") % {"column": self.column}
        return f"{where}: {self.message}"


class ErrorList:
    """The errors of one import, in line order. Keeps at most ``limit`` of them (so a
    file of garbage cannot fill the memory) but counts them all."""

    def __init__(self, limit: int | None = None):
        self.limit = max_errors() if limit is None else limit
        self.items: list[RowError] = []
        self.total = 0
        self.rows = 0
        self._last_line = -1
        self.by_column: dict[str, int] = {}

    def add(self, line: int, column: str, message: str) -> None:
        self.total += 1
        if line != self._last_line:
            self.rows += 1
            self._last_line = line
        self.by_column[column or "-"] = self.by_column.get(column or "-", 0) + 1
        if len(self.items) < self.limit:
            self.items.append(RowError(line, column, message))

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.items)

    @property
    def omitted(self) -> int:
        return self.total - len(self.items)


@dataclass
class ImportReport:
    """The outcome of an import or a dry run, for the command, the web page and the job.

    ``sections`` are titled tables of counts (per category, per school year, ...);
    ``unmapped`` lists source labels the mapping does not cover with their row counts.
    """

    kind: str
    source_name: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    committed: bool = False
    errors: ErrorList = field(default_factory=ErrorList)
    sections: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)
    unmapped: list[tuple[str, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    school_years: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fatal(self, exc: TableFileError) -> None:
        self.errors.add(exc.line, "", exc.message)

    def rolled_back(self) -> None:
        """Nothing was written: keep the row count and the summary of what the file holds,
        forget which school years changed."""
        self.committed = False
        self.school_years.clear()

    def summary_dict(self) -> dict:
        """Everything but the error list, JSON-serialisable (stored on the import job)."""
        return {
            "kind": self.kind,
            "source_name": self.source_name,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "committed": self.committed,
            "sections": [[title, [list(i) for i in items]] for title, items in self.sections],
            "unmapped": [list(u) for u in self.unmapped],
            "notes": list(self.notes),
            "error_total": self.errors.total,
            "error_rows": self.errors.rows,
            "errors_omitted": self.errors.omitted,
            "errors_by_column": dict(self.errors.by_column),
        }

    def error_list(self) -> list[list]:
        return [e.as_list() for e in self.errors]

    def text_lines(self) -> list[str]:
        """A plain-text summary (Dutch), as printed by the management commands."""
        out = [
            _("Bestand %(name)s: %(rows)s rijen.") % {"name": self.source_name, "rows": self.rows}
        ]
        out.append(
            "  "
            + _("nieuw: %(created)s, bijgewerkt: %(updated)s, ongewijzigd: %(unchanged)s")
            % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}
        )
        for title, items in self.sections:
            out.append(f"  {title}:")
            out.extend(f"    {label}: {count}" for label, count in items)
        if self.unmapped:
            out.append("  " + _("Labels zonder koppeling (aantal rijen):"))
            out.extend(
                "    "
                + _("%(label)s: %(count)s (eerst op regel %(line)s)")
                % {"label": label, "count": count, "line": line}
                for label, count, line in self.unmapped
            )
        out.extend(f"  {note}" for note in self.notes)
        out.append(
            "  "
            + _("fouten: %(total)s in %(rows)s rijen")
            % {"total": self.errors.total, "rows": self.errors.rows}
        )
        return out
