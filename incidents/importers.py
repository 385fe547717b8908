"""Importing incidents: MIV's standard file and legacy exports (TOPdesk, Excel registers).

One service, :func:`import_incidents`, serves the management command, the web upload
(through the Celery tasks) and the tests. It is an :class:`miv.imports.Importer` run by the
one import driver (:func:`miv.imports.run_import`): CSV or XLSX, read once, streaming, all or
nothing, linear in the number of rows. What a cell means is defined once per column in
:mod:`incidents.columns`; this module only finds the columns in a header and decides, row by
row, what happens to the incident:

* **Standard file** (what :func:`incidents.exporters.write_incidents_csv` writes):
  ``location, occurred_on, incident_type, victim_role`` and optionally the other
  :data:`~incidents.columns.STANDARD` columns. Export-only columns (``reference``,
  ``status``) are ignored, so an exported list can be imported again.
* **Legacy exports**: the institution's own labels in one or more columns (``Categorie``,
  ``Subcategorie``, ``Soort``) are mapped onto taxonomy types through the institution's
  :class:`~incidents.models.LabelMapping` (plus a mapping file given with this import).
  Columns are recognised by their usual Dutch and English names, or named explicitly.
  What a legacy file lacks (e.g. the victim's role) becomes ``unknown``.

All or nothing: when any row is invalid nothing is written, and the report lists every
bad row (line, column, reason). Re-importing is idempotent: rows with an ``external_id``
update the incident with that number; rows without one are matched on all their fields
(as a multiset, so two genuinely identical incidents in one file stay two).

Validation here is the bulk equivalent of ``Incident.clean()`` (dates not in the future and
not before 2000, active type and location for new choices, field lengths and choices):
running ``full_clean()`` per row would cost several queries per row. The writes are in
:mod:`incidents.import_writes`.

Size (just over 500 lines): one importer, :class:`IncidentImporter`, whose steps the
import driver calls in turn (the header: find the standard or legacy columns; each row:
clean it and decide new, update, unchanged or refused; the end: summarise). The steps share
the importer's lookups of locations, types and existing incidents, so they stay together;
the cells are read by :mod:`incidents.columns`, the writes are :mod:`incidents.import_writes`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import BinaryIO

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from miv.csvfiles import header_key, label_key, looks_like_formula, unescape_formula
from miv.importreport import ImportReport, Progress
from miv.imports import Importer, Table, run_import
from miv.schoolyear import school_year_of
from taxonomy.models import TaxonomyVersion

from . import columns as cols
from .choices import Status
from .columns import STANDARD_COLUMNS, CellError, Column, short
from .import_matching import IMPORTED, ExistingIncidents
from .import_writes import ImportRow, IncidentWriter
from .label_mapping import (
    MappingEntry,
    TypeIndex,
    first_of,
    read_mapping_file,
    save_mapping,
    stored_mapping,
)
from .models import Institution, Location
from .services import notify_incidents_changed

__all__ = [
    "STANDARD_COLUMNS",
    "ImportOptions",
    "MappingEntry",
    "import_incidents",
    "read_mapping_file",
    "save_mapping",
]

BATCH = 5000
# Label columns of legacy exports, joined in this order: category > subcategory > kind.
LABEL_ALIASES = [
    ["categorie", "category", "hoofdcategorie"],
    ["subcategorie", "subcategory"],
    ["soort", "soortincident", "kind"],
]
_CODE_PATTERN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


@dataclass
class ImportOptions:
    """How to read a file: explicit column names (else recognised), and whether unknown
    locations may be created."""

    date_column: str = ""
    location_column: str = ""
    label_columns: list[str] = field(default_factory=list)
    id_column: str = ""
    create_locations: bool = False

    @classmethod
    def from_dict(cls, data: dict | None) -> ImportOptions:
        data = data or {}
        labels = data.get("label_columns") or []
        if isinstance(labels, str):
            labels = [c for c in labels.split(",") if c.strip()]
        return cls(
            date_column=data.get("date_column") or "",
            location_column=data.get("location_column") or "",
            label_columns=[c.strip() for c in labels],
            id_column=data.get("id_column") or "",
            create_locations=bool(data.get("create_locations")),
        )

    def as_dict(self) -> dict:
        return {
            "date_column": self.date_column,
            "location_column": self.location_column,
            "label_columns": self.label_columns,
            "id_column": self.id_column,
            "create_locations": self.create_locations,
        }

    def explicit(self) -> dict[str, tuple[str, str]]:
        """Column -> (header named by the user, the option's name)."""
        return {
            cols.OCCURRED_ON.name: (self.date_column, "--date-column"),
            cols.LOCATION.name: (self.location_column, "--location-column"),
            cols.EXTERNAL_ID.name: (self.id_column, "--id-column"),
        }


class IncidentImporter(Importer):
    """One run over one file. Use :func:`import_incidents`."""

    kind = "incidents"

    def __init__(
        self,
        institution: Institution,
        *,
        options: ImportOptions,
        mapping: dict[str, MappingEntry] | None,
        actor,
        commit: bool,
    ):
        super().__init__(commit=commit)
        self.institution = institution
        self.options = options
        self.file_mapping = mapping or {}
        self.actor = actor if actor is not None and actor.is_authenticated else None
        self.types = TypeIndex()
        self.mapping = {**stored_mapping(institution), **self.file_mapping}
        self.today = timezone.localdate()
        self.parsed_dates: dict[str, tuple[date, time | None] | None] = {}
        self.locations_by_code: dict[str, Location] = {}
        self.locations_by_name: dict[str, Location | None] = {}
        for location in Location.objects.filter(institution=institution):
            self.locations_by_code[location.code.casefold()] = location
            key = label_key(location.name)
            self.locations_by_name[key] = None if key in self.locations_by_name else location
        self.new_locations: dict[str, tuple[str, str]] = {}  # label_key -> (code, name)
        self.new_location_rows: Counter[tuple[str, str]] = Counter()
        self.unmapped: dict[str, list] = {}  # key -> [label, count, first line]
        self.per_category: Counter[str] = Counter()
        self.per_year: Counter[str] = Counter()
        self.seen_external: dict[str, int] = {}
        self.file_keys: Counter[bytes] = Counter()
        self.legacy = False
        self.label_columns: list[int] = []
        self.header: list[str] = []
        self.column_names: dict[str, str] = {}
        self.writer: IncidentWriter | None = None

    # -- the header --

    def lock(self) -> None:
        # One import per institution at a time: a double confirmation must not import
        # rows without a number twice. NO KEY: registrations (which take a key-share lock
        # on the institution row) go on meanwhile.
        Institution.objects.select_for_update(no_key=True).filter(pk=self.institution.pk).first()

    def start(self, table: Table) -> bool:
        self.header = table.header
        positions = self._resolve(table)
        if positions is None:
            return False
        self.readers = [(c, positions[c.name], self.column_names[c.name]) for c in IMPORTED]
        self.readers = [r for r in self.readers if r[1] is not None]
        self.defaults = {c.attribute: c.default for c in IMPORTED}
        self.present = {c.attribute for c, _i, _h in self.readers}
        self.existing = ExistingIncidents(self.institution, self.present)
        if self.commit:
            self.writer = IncidentWriter(
                self.institution,
                actor=self.actor,
                version=TaxonomyVersion.current(),
                present=self.present,
                report=self.report,
            )
        return True

    def _resolve(self, table: Table) -> dict[str, int | None] | None:
        index = table.index()
        positions: dict[str, int | None] = {}
        explicit = self.options.explicit()
        ok = True
        for column in IMPORTED:
            wanted, option = explicit.get(column.name, ("", ""))
            if wanted:
                positions[column.name] = index.get(header_key(wanted))
                if positions[column.name] is None:
                    self._missing_column(table, wanted, option)
                    ok = False
            else:
                names = [header_key(column.name), *column.aliases]
                positions[column.name] = first_of(index, names)
        labels: list[int] = []
        if self.options.label_columns:
            for wanted in self.options.label_columns:
                position = index.get(header_key(wanted))
                if position is None:
                    self._missing_column(table, wanted, "--label-columns")
                    ok = False
                else:
                    labels.append(position)
        elif positions[cols.INCIDENT_TYPE.name] is None:
            labels = [p for group in LABEL_ALIASES if (p := first_of(index, group)) is not None]
        if not ok:
            return None
        self.label_columns = labels
        self.legacy = bool(labels)
        if self.legacy:
            # The labels name the type; a type column of a legacy file is not read.
            positions[cols.INCIDENT_TYPE.name] = None
        self.column_names = {
            name: table.header[i] if i is not None else name for name, i in positions.items()
        }
        required = [cols.LOCATION.name, cols.OCCURRED_ON.name]
        if not self.legacy:
            required = cols.REQUIRED_STANDARD
        missing = [name for name in required if positions[name] is None]
        if missing:
            self.errors.add(
                table.header_line,
                "",
                _(
                    "Kolommen ontbreken: %(missing)s. Gevonden: %(found)s. Verwacht de "
                    "standaardkolommen (%(standard)s), of een export met labelkolommen "
                    "(Categorie, Subcategorie, Soort) en een koppeltabel; kolomnamen kunt u "
                    "ook zelf opgeven."
                )
                % {
                    "missing": ", ".join(missing),
                    "found": ", ".join(short(h, 30) for h in table.header[:30]) or "-",
                    "standard": ", ".join(cols.REQUIRED_STANDARD),
                },
            )
            return None
        used = [i for i in positions.values() if i is not None] + labels
        for i in used:
            if table.duplicated(table.keys[i]):
                self.errors.add(
                    table.header_line,
                    table.header[i],
                    _("Deze kolom komt meer dan eens voor in de kopregel."),
                )
                return None
        return positions

    def _missing_column(self, table: Table, wanted: str, option: str) -> None:
        self.errors.add(
            table.header_line,
            wanted,
            _("Kolom '%(column)s' (%(option)s) staat niet in de kopregel. Gevonden: %(found)s.")
            % {
                "column": short(wanted, 40),
                "option": option,
                "found": ", ".join(short(h, 30) for h in table.header[:30]) or "-",
            },
        )

    def label_header(self) -> str:
        return " > ".join(self.header[i] for i in self.label_columns)

    def header_of(self, column: Column) -> str:
        if column is cols.INCIDENT_TYPE and self.legacy:
            return self.label_header()
        return self.column_names.get(column.name, column.name)

    # -- a row --

    def row(self, line: int, cells: list[str]) -> None:
        errors = self.errors
        before = errors.total
        values = dict(self.defaults)
        for column, position, header in self.readers:
            raw = cells[position]
            if raw:
                first = raw[0]
                if first in "=@+-" and looks_like_formula(raw):
                    errors.add(
                        line,
                        header,
                        _(
                            "De cel begint met '%(char)s' en zou in een spreadsheet als formule "
                            "worden uitgevoerd. Zet er een ' voor als het tekst is."
                        )
                        % {"char": first},
                    )
                    continue
                if first == "'":
                    raw = unescape_formula(raw)
            if not raw:
                if column.missing is not None:
                    errors.add(line, header, str(column.missing))
                continue
            try:
                values[column.attribute] = column.clean(raw, self)
            except CellError as exc:
                errors.add(line, header, exc.message)
        if self.legacy:
            values["incident_type"] = self._legacy_type(line, cells)
        if errors.total != before:
            return
        occurred_on, at = values["occurred_on"]
        values["occurred_on"] = occurred_on
        if values["occurred_at"] is None:
            values["occurred_at"] = at
        row = ImportRow(
            line=line,
            values=values,
            has_time="occurred_at" in self.present or values["occurred_at"] is not None,
        )
        self._decide(row)
        if self.writer is not None:
            if errors:
                self.writer.clear()  # nothing will be written: keep the memory flat
            else:
                self.writer.flush(BATCH)

    def _legacy_type(self, line: int, cells: list[str]):
        labels = [cells[i] for i in self.label_columns]
        label = " > ".join(" ".join(v.split()) for v in labels if v.strip())
        if not label:
            self.errors.add(line, self.label_header(), _("Geen label: de labelkolommen zijn leeg."))
            return None
        key = label_key(label)
        entry = self.mapping.get(key)
        incident_type = entry.incident_type if entry else self.types.find(label)
        if incident_type is None:
            seen = self.unmapped.get(key)
            if seen:
                seen[1] += 1
            else:
                self.unmapped[key] = [label, 1, line]
            self.errors.add(
                line,
                self.label_header(),
                _("Label '%(label)s' is niet gekoppeld aan een type incident.")
                % {"label": short(label)},
            )
        return incident_type

    def plan_location(self, value: str) -> tuple[str, str]:
        """The (code, name) of a location this import creates for ``value`` (counted per
        row that names it)."""
        key = label_key(value)
        planned = self.new_locations.get(key)
        if planned:
            self.new_location_rows[planned] += 1
            return planned
        name = value[:200]
        if len(value) <= 20 and all(c in _CODE_PATTERN for c in value):
            code = value
        else:
            base = slugify(value).upper()[:20] or "VESTIGING"
            code, n = base, 1
            taken = set(self.locations_by_code) | {
                planned_code.casefold() for planned_code, _name in self.new_locations.values()
            }
            while code.casefold() in taken:
                n += 1
                code = f"{base[:17]}-{n}"
        self.new_locations[key] = (code, name)
        self.new_location_rows[(code, name)] += 1
        return code, name

    # -- existing incidents and decisions --

    def _decide(self, row: ImportRow) -> None:
        digest = self.existing.fingerprint(row)
        external_id = row.values["external_id"]
        id_header = self.header_of(cols.EXTERNAL_ID)
        if external_id:
            first = self.seen_external.get(external_id)
            if first:
                self.errors.add(
                    row.line,
                    id_header,
                    _("Nummer '%(value)s' staat ook al op regel %(line)s.")
                    % {"value": short(external_id), "line": first},
                )
                return
            self.seen_external[external_id] = row.line
            existing = self.existing.by_external.get(external_id)
            if existing is not None:
                pk, status, with_time, without_time, location_id, type_id = existing
                if digest == (with_time if row.has_time else without_time):
                    self.report.unchanged += 1
                elif status == Status.WITHDRAWN:
                    self.errors.add(
                        row.line,
                        id_header,
                        _(
                            "Incident met nummer '%(value)s' is ingetrokken en kan niet meer "
                            "worden gewijzigd."
                        )
                        % {"value": short(external_id)},
                    )
                    return
                else:
                    if not self._check_active(row, location_id, type_id):
                        return
                    self.report.updated += 1
                    if self.writer is not None:
                        self.writer.update(row, pk)
                self._count(row)
                return
        else:
            self.file_keys[digest] += 1
            existing = self.existing
            existing_keys = existing.with_time if row.has_time else existing.without_time
            if self.file_keys[digest] <= existing_keys[digest]:
                self.report.unchanged += 1
                self._count(row)
                return
        if not self._check_active(row, None, None):
            return
        self.report.created += 1
        self._count(row)
        if self.writer is not None:
            self.writer.create(row)

    def _check_active(self, row: ImportRow, old_location_id, old_type_id) -> bool:
        # As Incident.clean(): a retired type or closed location may stay on an old
        # incident, but is no valid new choice.
        ok = True
        incident_type = row.values["incident_type"]
        if incident_type.pk != old_type_id and not incident_type.active:
            self.errors.add(
                row.line,
                self.header_of(cols.INCIDENT_TYPE),
                _("Type %(code)s is vervallen; kies een actief type.")
                % {"code": incident_type.code},
            )
            ok = False
        location = row.values["location"]
        if (
            isinstance(location, Location)
            and location.pk != old_location_id
            and not (location.active and self.institution.active)
        ):
            self.errors.add(
                row.line,
                self.header_of(cols.LOCATION),
                _("Vestiging %(code)s is niet actief.") % {"code": location.code},
            )
            ok = False
        return ok

    def _count(self, row: ImportRow) -> None:
        self.per_category[row.values["incident_type"].category.name_nl] += 1
        self.per_year[school_year_of(row.values["occurred_on"])] += 1

    # -- the end --

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.flush(0)
            if self.file_mapping:
                save_mapping(self.institution, self.file_mapping.values(), actor=self.actor)
            if self.report.school_years:
                notify_incidents_changed(set(self.report.school_years))

    def summarise(self) -> None:
        report = self.report
        report.sections = [
            (_("Incidenten per categorie"), sorted(self.per_category.items())),
            (_("Incidenten per schooljaar"), sorted(self.per_year.items())),
        ]
        if self.new_locations:
            report.sections.append(
                (
                    _("Nieuwe vestigingen"),
                    [
                        (f"{code} ({name})", self.new_location_rows[(code, name)])
                        for code, name in self.new_locations.values()
                    ],
                )
            )
        report.unmapped = sorted(
            ((label, count, line) for label, count, line in self.unmapped.values()),
            key=lambda u: (-u[1], u[2]),
        )
        if self.legacy:
            report.notes.append(
                _("Labelkolommen: %(columns)s (koppeltabel: %(count)s labels).")
                % {"columns": self.label_header(), "count": len(self.mapping)}
            )


def import_incidents(
    source: str | Path | BinaryIO,
    institution: Institution,
    *,
    name: str | None = None,
    mapping: dict[str, MappingEntry] | None = None,
    options: ImportOptions | None = None,
    actor=None,
    commit: bool = True,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate an incident file (CSV or XLSX) for ``institution`` and, with ``commit``,
    import it.

    All or nothing: when the report has errors nothing was written. ``mapping`` (from
    :func:`read_mapping_file`) is used on top of the stored mapping and stored with a
    successful import. Listeners get ``incidents_changed`` after commit.
    """
    importer = IncidentImporter(
        institution,
        options=options or ImportOptions(),
        mapping=mapping,
        actor=actor,
        commit=commit,
    )
    return run_import(importer, source, name=name, progress=progress)
