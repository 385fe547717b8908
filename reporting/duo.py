"""DUO's open data on MBO students, as the enrolment import reads it.

:class:`DuoReader` reads file *03 deelnemers per instelling, plaats, kenniscentrum, sector,
bedrijfstak, type mbo-opleiding, niveau, geslacht* (one row per institution × route ×
qualification, ``TOTAAL<yyyy>`` columns summed per institution); :class:`SimpleReader` the
simple format ``institution,school_year,students``; :func:`read_institution_list` DUO's
institution list. :mod:`reporting.importers` runs them and writes the counts.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from incidents.choices import InstitutionKind
from incidents.models import Institution, brin_validator
from miv.importreport import ImportReport, TableFileError
from miv.imports import Table, open_table, source_name
from miv.schoolyear import parse_school_year, school_year_from_start

TOTAL_COLUMN = re.compile(r"^totaal(\d{4})$")
COUNT = re.compile(r"^\d{1,9}$")
# Newer DUO files mask small counts (e.g. "<5"); such a cell is counted as 0 and reported.
MASKED = re.compile(r"^<\s*\d+$")
KINDS = {
    "roc": InstitutionKind.ROC,
    "aoc": InstitutionKind.AOC,
    "vak": InstitutionKind.VAK,
    "overig": InstitutionKind.OVERIG,
}


def _city(value: str) -> str:
    """DUO writes places in capitals: ``'S-HERTOGENBOSCH`` -> ``'s-Hertogenbosch``."""
    words = []
    for word in value.strip().lower().split(" "):
        parts = [p[:1].upper() + p[1:] for p in word.split("-")]
        words.append("-".join(parts))
    result = " ".join(words)
    return re.sub(r"^'S\b", "'s", result).replace("'S-", "'s-")


def _valid_brin(value: str) -> bool:
    try:
        brin_validator(value)
    except Exception:  # noqa: BLE001 - any validation failure means "no BRIN"
        return False
    return True


def read_institution_list(source: str | Path | BinaryIO) -> tuple[dict[str, dict], ImportReport]:
    """DUO's institution list (*Indicatoren mbo per instelling*: ``Brinnr``, ``Naam
    Instelling``, ``Plaats``, ``Vgl Groep``): name, kind and main seat per BRIN, used when
    :func:`import_enrolments` creates institutions."""
    report = ImportReport(kind="institutions", source_name=source_name(source))
    result: dict[str, dict] = {}
    try:
        with open_table(source, name=report.source_name) as csv_file:
            index = csv_file.index()
            cols = [index.get(k) for k in ("brinnr", "naaminstelling", "plaats", "vglgroep")]
            if None in cols[:2]:
                report.errors.add(
                    csv_file.header_line,
                    "",
                    _("De instellingenlijst heeft de kolommen Brinnr en Naam Instelling nodig."),
                )
                return result, report
            brin_col, name_col, city_col, kind_col = cols
            for line, cells in csv_file.rows(report.errors):
                brin = cells[brin_col].upper()
                if not _valid_brin(brin):
                    report.errors.add(
                        line,
                        csv_file.header[brin_col],
                        _("Ongeldige BRIN-code '%(value)s'.") % {"value": cells[brin_col][:20]},
                    )
                    continue
                kind = KINDS.get(cells[kind_col].casefold()) if kind_col is not None else None
                result[brin] = {
                    "name": cells[name_col][:200],
                    "city": _city(cells[city_col])[:100] if city_col is not None else "",
                    "kind": kind,
                }
            report.rows = csv_file.data_rows
    except TableFileError as exc:
        report.fatal(exc)
    return result, report


class DuoReader:
    """DUO's file: one row per institution × route × qualification; ``TOTAAL<yyyy>``
    columns are summed per institution."""

    def __init__(self, table: Table, index, brin_col, totals, report: ImportReport):
        self.kind_col = index.get("soortins")
        self.name_col = index.get("instellingsnaam")
        self.city_col = index.get("plaatsnaam")
        self.brin_col = brin_col
        self.totals = totals
        self.header = table.header
        self.report = report
        self.errors = report.errors
        self.counts: dict[str, list[int]] = {}
        self.institutions: dict[str, dict] = {}
        self.city_students: dict[str, Counter] = {}
        self.masked = 0

    def row(self, line: int, cells: list[str]) -> None:
        errors, header = self.errors, self.header
        brin = cells[self.brin_col].upper()
        if not _valid_brin(brin):
            errors.add(
                line,
                header[self.brin_col],
                _("Ongeldige BRIN-code '%(value)s' (twee cijfers en twee letters).")
                % {"value": cells[self.brin_col][:20]},
            )
            return
        values = []
        bad = False
        for i, _year in self.totals:
            cell = cells[i]
            if not cell:
                values.append(0)
            elif COUNT.match(cell):
                values.append(int(cell))
            elif MASKED.match(cell):
                values.append(0)
                self.masked += 1
            else:
                errors.add(line, header[i], _("Geen aantal: '%(value)s'.") % {"value": cell[:20]})
                bad = True
        if bad:
            return
        row_total = self.counts.setdefault(brin, [0] * len(self.totals))
        for n, value in enumerate(values):
            row_total[n] += value
        info = self.institutions.get(brin)
        if info is None:
            kind_col = self.kind_col
            kind_value = cells[kind_col].casefold() if kind_col is not None else "overig"
            kind = KINDS.get(kind_value)
            if kind is None:
                errors.add(
                    line,
                    header[kind_col],
                    _("Onbekende soort instelling '%(value)s'; verwacht ROC, AOC, VAK of OVERIG.")
                    % {"value": cells[kind_col][:20]},
                )
                return
            name = (cells[self.name_col] if self.name_col is not None else "")[:200]
            self.institutions[brin] = {"name": name or brin, "kind": kind}
            self.city_students[brin] = Counter()
        if self.city_col is not None and cells[self.city_col]:
            # The main seat: the place with the most students of the institution.
            self.city_students[brin][cells[self.city_col]] += sum(values) + 1

    def result(self):
        for brin, info in self.institutions.items():
            best = self.city_students[brin].most_common(1)
            info["city"] = _city(best[0][0])[:100] if best else ""
        counts = {
            (brin, school_year_from_start(year)): per_year[n]
            for brin, per_year in self.counts.items()
            for n, (_i, year) in enumerate(self.totals)
        }
        self.report.notes.append(
            _("DUO-bestand: %(institutions)s instellingen, jaren %(years)s.")
            % {
                "institutions": len(self.counts),
                "years": ", ".join(str(year) for _i, year in self.totals),
            }
        )
        if self.masked:
            self.report.notes.append(
                _("%(count)s afgeschermde cellen (zoals '<5') zijn als 0 geteld.")
                % {"count": self.masked}
            )
        return counts, self.institutions


class SimpleReader:
    """``institution,school_year,students``: one count per row."""

    def __init__(self, table: Table, index, report: ImportReport):
        self.errors = report.errors
        self.header = table.header
        self.inst_col = index["institution"]
        self.year_col = index["schoolyear"]
        self.students_col = index["students"]
        self.counts: dict[tuple[str, str], int] = {}
        self.first_line: dict[tuple[str, str], int] = {}
        self.known = set(Institution.objects.values_list("brin", flat=True))

    def row(self, line: int, cells: list[str]) -> None:
        errors, header = self.errors, self.header
        brin = cells[self.inst_col].upper()
        ok = True
        if brin not in self.known:
            errors.add(
                line,
                header[self.inst_col],
                _("Onbekende instelling '%(value)s'.") % {"value": cells[self.inst_col][:20]},
            )
            ok = False
        year = cells[self.year_col]
        try:
            parse_school_year(year)
        except ValueError:
            errors.add(
                line,
                header[self.year_col],
                _("Ongeldig schooljaar '%(value)s'; schrijf 2022-2023.") % {"value": year[:20]},
            )
            ok = False
        students = cells[self.students_col].replace(".", "")
        if not COUNT.match(students):
            errors.add(
                line,
                header[self.students_col],
                _("Geen aantal studenten: '%(value)s'.") % {"value": cells[self.students_col][:20]},
            )
            ok = False
        if not ok:
            return
        key = (brin, year)
        if key in self.counts:
            errors.add(
                line,
                "",
                _("%(brin)s %(year)s staat ook al op regel %(line)s.")
                % {"brin": brin, "year": year, "line": self.first_line[key]},
            )
            return
        self.counts[key] = int(students)
        self.first_line[key] = line

    def result(self):
        return self.counts, {}
