"""Importing the denominators (DUO student counts) and the survey scores (JOB, MO).

:func:`import_enrolments` reads DUO's open-data file *03 deelnemers per instelling, plaats,
kenniscentrum, sector, bedrijfstak, type mbo-opleiding, niveau, geslacht* (one row per
institution x route x qualification) and sums every ``TOTAAL<yyyy>`` column per institution:
DUO's 1 October count of year *yyyy* is the denominator of school year *yyyy*-*yyyy+1*. The
simple format ``institution,school_year,students`` is accepted too.

:func:`import_safety_scores` reads ``institution,source,survey_year,value,respondents``.

Both accept CSV and XLSX and are :class:`miv.imports.Importer` objects run by the one
import driver (:func:`miv.imports.run_import`): all or nothing, streaming, one transaction,
the same line-numbered errors. They leave unchanged values alone (so re-importing a file
changes nothing) and send ``figure_inputs_changed`` after commit for the school years that
changed.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.models import Institution
from miv.importreport import ImportReport, Progress
from miv.imports import Importer, Table, run_import
from miv.schoolyear import school_year_from_start

from .choices import ScoreSource
from .duo import COUNT, TOTAL_COLUMN, DuoReader, SimpleReader
from .duo import read_institution_list as read_institution_list  # the command and tests use it here
from .models import SCORE_RANGES, SafetyScore, StudentCount
from .signals import figure_inputs_changed

# --- Enrolments ----------------------------------------------------------------------------


class EnrolmentImporter(Importer):
    """DUO's file or the simple format; see :func:`import_enrolments`."""

    kind = "enrolments"

    def __init__(self, *, source_date: date, institution_list: dict | None, commit: bool):
        super().__init__(commit=commit)
        self.source_date = source_date
        self.institution_list = institution_list or {}

    def start(self, table: Table) -> bool:
        index = table.index()
        brin_col = index.get("brinnummer", index.get("instellingscode"))
        totals = [
            (i, int(m[1])) for i, key in enumerate(table.keys) if (m := TOTAL_COLUMN.match(key))
        ]
        if brin_col is not None and totals:
            self.reader = DuoReader(table, index, brin_col, totals, self.report)
        elif {"institution", "schoolyear", "students"} <= set(index):
            self.reader = SimpleReader(table, index, self.report)
        else:
            self.errors.add(
                table.header_line,
                "",
                _(
                    "Onbekend formaat. Verwacht een DUO-bestand (kolommen BRIN NUMMER of "
                    "INSTELLINGSCODE en TOTAAL<jaar>) of de kolommen "
                    "institution,school_year,students."
                ),
            )
            return False
        return True

    def row(self, line: int, cells: list[str]) -> None:
        self.reader.row(line, cells)

    def finish(self) -> None:
        counts, institutions = self.reader.result()
        for brin, info in institutions.items():
            listed = self.institution_list.get(brin)
            if listed:
                info.update({k: v for k, v in listed.items() if v})
        _write_counts(counts, institutions, self.report, self.commit, self.source_date)


def import_enrolments(
    source: str | Path | BinaryIO,
    *,
    name: str | None = None,
    source_date: date | None = None,
    institution_list: dict[str, dict] | None = None,
    commit: bool = True,
    progress: Progress | None = None,
) -> ImportReport:
    """Import student counts from a DUO file or a simple CSV/XLSX; see the module docstring.

    Institutions missing in MIV are created from a DUO file (BRIN, name, kind, city), with
    name, kind and main seat from ``institution_list`` (:func:`read_institution_list`)
    where it has them; existing institutions keep their attributes. A count that changes
    records ``name`` and ``source_date`` (default: today) as its source.
    """
    importer = EnrolmentImporter(
        source_date=source_date or timezone.localdate(),
        institution_list=institution_list,
        commit=commit,
    )
    return run_import(importer, source, name=name, progress=progress)


def _write_counts(counts, institutions, report, commit, source_date) -> None:
    existing_institutions = {
        i.brin: i for i in Institution.objects.filter(brin__in={b for b, _y in counts})
    }
    new_institutions = 0
    for brin, info in institutions.items():
        if brin not in existing_institutions:
            new_institutions += 1
            if commit:
                existing_institutions[brin] = Institution.objects.create(
                    brin=brin, name=info["name"], kind=info["kind"], city=info["city"]
                )
    current = {
        (c.institution.brin, c.school_year): c
        for c in StudentCount.objects.filter(
            institution__brin__in={b for b, _y in counts}
        ).select_related("institution")
    }
    to_create, to_update, to_delete = [], [], []
    per_year: dict[str, list[int]] = {}
    zero = 0
    for (brin, year), students in sorted(counts.items()):
        if students == 0:
            # No students that year (e.g. before a merger): no denominator, rather than a
            # denominator of 0 that would make every rate infinite. A count an earlier file
            # gave is withdrawn: the newer file says there were none.
            zero += 1
            count = current.get((brin, year))
            if count is not None:
                report.updated += 1
                report.school_years.add(year)
                to_delete.append(count.pk)
            continue
        totals = per_year.setdefault(year, [0, 0])
        totals[0] += 1
        totals[1] += students
        count = current.get((brin, year))
        if count is None:
            report.created += 1
            report.school_years.add(year)
            if commit:
                to_create.append(
                    StudentCount(
                        institution=existing_institutions[brin],
                        school_year=year,
                        students=students,
                        source=report.source_name[:255],
                        source_date=source_date,
                    )
                )
        elif count.students != students:
            report.updated += 1
            report.school_years.add(year)
            count.students = students
            count.source = report.source_name[:255]
            count.source_date = source_date
            count.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
            to_update.append(count)
        else:
            report.unchanged += 1
    if commit:
        StudentCount.objects.filter(pk__in=to_delete).delete()
        StudentCount.objects.bulk_create(to_create, batch_size=1000)
        StudentCount.objects.bulk_update(
            to_update, ["students", "source", "source_date", "updated_at"], batch_size=1000
        )
        years = set(report.school_years)
        if years:
            transaction.on_commit(
                lambda: figure_inputs_changed.send(sender=StudentCount, school_years=years)
            )
        report.committed = True
    report.sections = [
        (
            _("Studenten per schooljaar (alle instellingen)"),
            [(year, total) for year, (_n, total) in sorted(per_year.items())],
        ),
        (
            _("Instellingen per schooljaar"),
            [(year, n) for year, (n, _total) in sorted(per_year.items())],
        ),
    ]
    if zero:
        report.notes.append(
            _("%(count)s keer een instelling zonder studenten in een jaar: niet opgeslagen.")
            % {"count": zero}
        )
    if institutions:
        report.notes.append(
            _("Nieuwe instellingen: %(new)s; bestaande: %(existing)s.")
            % {"new": new_institutions, "existing": len(institutions) - new_institutions}
        )


# --- Safety scores -------------------------------------------------------------------------


def _decimal(value: str) -> Decimal | None:
    value = value.replace(" ", "").replace("%", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")  # Dutch decimal comma
    try:
        result = Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


class ScoreImporter(Importer):
    """``institution,source,survey_year,value,respondents``; see
    :func:`import_safety_scores`."""

    kind = "scores"

    def start(self, table: Table) -> bool:
        index = table.index()
        needed = ["institution", "source", "surveyyear", "value"]
        missing = [n for n in needed if n not in index]
        if missing:
            self.errors.add(
                table.header_line,
                "",
                _(
                    "Kolommen ontbreken (%(missing)s). Verwacht: "
                    "institution,source,survey_year,value,respondents."
                )
                % {"missing": ", ".join(missing)},
            )
            return False
        self.header = table.header
        self.cols = {n: index.get(n) for n in needed}
        self.respondents_col = index.get("respondents")
        self.known = set(Institution.objects.values_list("brin", flat=True))
        self.this_year = timezone.localdate().year
        self.rows: dict[tuple[str, str, int], tuple[Decimal, int | None]] = {}
        self.first_line: dict[tuple[str, str, int], int] = {}
        return True

    def row(self, line: int, cells: list[str]) -> None:
        errors, header, cols = self.errors, self.header, self.cols
        known, this_year, respondents_col = self.known, self.this_year, self.respondents_col
        rows, first_line = self.rows, self.first_line
        before = errors.total
        brin = cells[cols["institution"]].upper()
        if brin not in known:
            errors.add(
                line,
                header[cols["institution"]],
                _("Onbekende instelling '%(value)s'.") % {"value": cells[cols["institution"]][:20]},
            )
        source = cells[cols["source"]].casefold()
        if source not in ScoreSource.values:
            errors.add(
                line,
                header[cols["source"]],
                _("Onbekende bron '%(value)s'; gebruik job of mo.") % {"value": source[:20]},
            )
        year_value = cells[cols["surveyyear"]]
        year = int(year_value) if re.fullmatch(r"\d{4}", year_value) else None
        if year is None or not 2000 <= year <= this_year:
            errors.add(
                line,
                header[cols["surveyyear"]],
                _("Ongeldig peiljaar '%(value)s' (2000 tot en met %(max)s).")
                % {"value": year_value[:20], "max": this_year},
            )
        value = _decimal(cells[cols["value"]])
        if value is None:
            errors.add(
                line,
                header[cols["value"]],
                _("Geen getal: '%(value)s'.") % {"value": cells[cols["value"]][:20]},
            )
        elif source in ScoreSource.values:
            low, high = SCORE_RANGES[source]
            if not low <= value <= high:
                errors.add(
                    line,
                    header[cols["value"]],
                    _("Een %(source)s-score ligt tussen %(low)s en %(high)s, niet %(value)s.")
                    % {"source": source.upper(), "low": low, "high": high, "value": value},
                )
            elif value != value.quantize(Decimal("0.01")):
                errors.add(
                    line,
                    header[cols["value"]],
                    _("Hoogstens twee decimalen: %(value)s.") % {"value": value},
                )
        respondents = None
        if respondents_col is not None and cells[respondents_col]:
            raw = cells[respondents_col].replace(".", "")
            if COUNT.match(raw):
                respondents = int(raw)
            else:
                errors.add(
                    line,
                    header[respondents_col],
                    _("Geen aantal respondenten: '%(value)s'.")
                    % {"value": cells[respondents_col][:20]},
                )
        if errors.total != before:
            return
        key = (brin, source, year)
        if key in rows:
            errors.add(
                line,
                "",
                _("Dubbele rij: %(brin)s %(source)s %(year)s staat ook al op regel %(line)s.")
                % {"brin": brin, "source": source, "year": year, "line": first_line[key]},
            )
            return
        rows[key] = (value, respondents)
        first_line[key] = line

    def finish(self) -> None:
        _write_scores(self.rows, self.report, self.commit)


def import_safety_scores(
    source: str | Path | BinaryIO,
    *,
    name: str | None = None,
    commit: bool = True,
    progress: Progress | None = None,
) -> ImportReport:
    """Import JOB/MO scores from ``institution,source,survey_year,value,respondents`` (CSV
    or XLSX).

    Out-of-range values, unknown institutions and duplicate rows are errors. A survey of
    year *Y* belongs to school year (*Y*-1)-*Y*; listeners are told about those years.
    """
    return run_import(ScoreImporter(commit=commit), source, name=name, progress=progress)


def _write_scores(rows, report, commit) -> None:
    institutions = {i.brin: i for i in Institution.objects.filter(brin__in={k[0] for k in rows})}
    current = {
        (s.institution.brin, s.source, s.survey_year): s
        for s in SafetyScore.objects.filter(institution__brin__in=set(institutions)).select_related(
            "institution"
        )
    }
    to_create, to_update = [], []
    per_survey: Counter[str] = Counter()
    for (brin, source, year), (value, respondents) in sorted(rows.items()):
        per_survey[f"{source.upper()} {year}"] += 1
        school_year = school_year_from_start(year - 1)
        score = current.get((brin, source, year))
        if score is None:
            report.created += 1
            report.school_years.add(school_year)
            to_create.append(
                SafetyScore(
                    institution=institutions[brin],
                    source=source,
                    survey_year=year,
                    value=value,
                    respondents=respondents,
                )
            )
        elif score.value != value or score.respondents != respondents:
            report.updated += 1
            report.school_years.add(school_year)
            score.value, score.respondents = value, respondents
            score.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
            to_update.append(score)
        else:
            report.unchanged += 1
    if commit:
        SafetyScore.objects.bulk_create(to_create, batch_size=1000)
        SafetyScore.objects.bulk_update(
            to_update, ["value", "respondents", "updated_at"], batch_size=1000
        )
        years = set(report.school_years)
        if years:
            transaction.on_commit(
                lambda: figure_inputs_changed.send(sender=SafetyScore, school_years=years)
            )
        report.committed = True
    report.sections = [(_("Scores per peiling"), sorted(per_survey.items()))]


# --- Import jobs (the upload pages) ---------------------------------------------------------


def run_enrolment_job(job, fileobj: BinaryIO, commit: bool, progress: Progress) -> ImportReport:
    """An uploaded DUO file: its date of upload is the counts' source date."""
    return import_enrolments(
        fileobj,
        name=job.original_name,
        source_date=timezone.localdate(job.created_at),
        commit=commit,
        progress=progress,
    )


def run_score_job(job, fileobj: BinaryIO, commit: bool, progress: Progress) -> ImportReport:
    return import_safety_scores(fileobj, name=job.original_name, commit=commit, progress=progress)
