"""Importing incidents: MIV's standard CSV and legacy exports (TOPdesk, Excel registers).

One service, :func:`import_incidents`, serves the management command, the web upload
(through the Celery tasks) and the tests. It reads the file once, streaming, and is linear
in the number of rows:

* **Standard CSV** (what :func:`incidents.exporters.write_incidents_csv` writes):
  ``location, occurred_on, incident_type, victim_role`` and optionally ``occurred_at,
  place, perpetrator_role, injury, police_involved, measures, description, external_id``.
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
running ``full_clean()`` per row would cost several queries per row.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import BinaryIO

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from miv.csvfiles import (
    CsvFileError,
    ErrorList,
    ImportReport,
    Progress,
    header_key,
    label_key,
    looks_like_formula,
    open_csv,
    unescape_formula,
)
from miv.schoolyear import school_year_of
from taxonomy.models import IncidentType, TaxonomyVersion

from .choices import EventAction, Injury, PerpetratorRole, Place, Status, VictimRole
from .models import (
    EARLIEST_INCIDENT_DATE,
    TEXT_MAX_LENGTH,
    Incident,
    IncidentEvent,
    Institution,
    LabelMapping,
    Location,
)
from .services import MASK, MASKED_FIELDS, notify_incidents_changed

BATCH = 1000

# The standard columns, in the order the export writes them.
STANDARD_COLUMNS = [
    "location",
    "occurred_on",
    "incident_type",
    "victim_role",
    "occurred_at",
    "place",
    "perpetrator_role",
    "injury",
    "police_involved",
    "measures",
    "description",
    "external_id",
]
REQUIRED_STANDARD = ["location", "occurred_on", "incident_type", "victim_role"]

# Usual column names (normalised with header_key), standard name first.
FIELD_ALIASES: dict[str, list[str]] = {
    "location": ["location", "vestiging", "locatie", "vestigingscode", "locationcode"],
    "occurred_on": [
        "occurredon",
        "aanmelddatum",
        "datum",
        "date",
        "incidentdatum",
        "datumincident",
        "meldingsdatum",
        "melddatum",
    ],
    "occurred_at": ["occurredat", "tijd", "tijdstip", "time", "aanmeldtijd"],
    "incident_type": ["incidenttype", "typeincident"],
    "victim_role": ["victimrole", "slachtoffer", "rolslachtoffer", "victim"],
    "perpetrator_role": ["perpetratorrole", "dader", "roldader", "perpetrator"],
    "place": ["place", "plek", "plekincident"],
    "injury": ["injury", "letsel"],
    "police_involved": ["policeinvolved", "politie", "politiebetrokken", "police"],
    "measures": ["measures", "maatregelen", "genomenmaatregelen"],
    "description": ["description", "beschrijving", "omschrijving", "toelichting"],
    "external_id": [
        "externalid",
        "incidentnummer",
        "nummer",
        "number",
        "incidentnumber",
        "meldingsnummer",
        "meldingnummer",
    ],
}
# Label columns of legacy exports, joined in this order: category > subcategory > kind.
LABEL_ALIASES = [
    ["categorie", "category", "hoofdcategorie"],
    ["subcategorie", "subcategory"],
    ["soort", "soortincident", "kind"],
]

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](.+))?$")
_DMY = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})(?:[ T](.+))?$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:\.(\d{1,6}))?)?$")
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")
TRUE = {"ja", "j", "yes", "y", "true", "waar", "1", "x"}
FALSE = {"nee", "n", "no", "false", "onwaar", "0", ""}


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


# --- Value parsing -------------------------------------------------------------------------


def _choice_lookup(choices) -> dict[str, str]:
    """value, Dutch label and English label (case/accent-insensitive) -> value."""
    result: dict[str, str] = {}
    for language in ("en", "nl"):
        with translation.override(language):
            for value, label in choices.choices:
                result[label_key(str(label))] = value
    for value in choices.values:
        result[label_key(value)] = value
    return result


def parse_time(value: str) -> time | None:
    match = _TIME.match(value)
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second, micro)


def parse_date(value: str) -> tuple[date, time | None] | None:
    """``2023-03-14``, ``14-03-2023`` or ``14/03/2023``, each optionally followed by a time
    (``10:15`` or ``10:15:00``). None when the value is none of these."""
    match = _ISO.match(value)
    if match:
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    else:
        match = _DMY.match(value)
        if not match:
            return None
        day, month, year, rest = int(match[1]), int(match[3]), int(match[4]), match[5]
    try:
        day_value = date(year, month, day)
    except ValueError:
        return None
    at = None
    if rest:
        at = parse_time(rest.strip())
        if at is None:
            return None
    return day_value, at


def _digest(values: Iterable) -> bytes:
    """A fingerprint of an incident's fields, to recognise a row that is already there
    without holding every existing description in memory."""
    plain = tuple(str(v) if isinstance(v, str) else v for v in values)
    return hashlib.blake2b(repr(plain).encode(), digest_size=16).digest()


# --- Mapping files -------------------------------------------------------------------------


class TypeIndex:
    """Incident types by code and by Dutch name (case-insensitive)."""

    def __init__(self):
        self.by_code: dict[str, IncidentType] = {}
        self.by_name: dict[str, IncidentType | None] = {}
        for t in IncidentType.objects.select_related("category"):
            self.by_code[t.code.casefold()] = t
            key = label_key(t.name_nl)
            # A name used twice is ambiguous: only its code identifies the type.
            self.by_name[key] = None if key in self.by_name else t
        self.by_id = {t.pk: t for t in self.by_code.values()}

    def find(self, value: str) -> IncidentType | None:
        return self.by_code.get(value.casefold()) or self.by_name.get(label_key(value))


@dataclass
class MappingEntry:
    source_label: str
    incident_type: IncidentType
    line: int = 0


def read_mapping_file(
    source: str | Path | BinaryIO, *, name: str | None = None, types: TypeIndex | None = None
) -> tuple[dict[str, MappingEntry], ErrorList]:
    """Read a mapping CSV ``source_label,incident_type`` (type as code or Dutch name).

    Returns the entries by normalised label, and the errors (line, column, reason).
    """
    types = types or TypeIndex()
    errors = ErrorList()
    entries: dict[str, MappingEntry] = {}
    try:
        with open_csv(source, name=name) as csv_file:
            index = csv_file.index()
            label_col = _first(index, ["sourcelabel", "label", "bronlabel", "eigenlabel"])
            type_col = _first(index, ["incidenttype", "type", "typeincident", "code"])
            if label_col is None or type_col is None:
                errors.add(
                    csv_file.header_line,
                    "",
                    _("De koppeltabel heeft de kolommen source_label en incident_type nodig."),
                )
                return entries, errors
            for line, cells in csv_file.rows(errors):
                label = " ".join(unescape_formula(cells[label_col]).split())
                type_value = cells[type_col]
                if not label:
                    errors.add(line, "source_label", _("Het label is leeg."))
                    continue
                incident_type = types.find(type_value)
                if incident_type is None:
                    errors.add(
                        line,
                        "incident_type",
                        _("Onbekend type incident '%(value)s'; gebruik een code als MIS.FYS.06.")
                        % {"value": _short(type_value)},
                    )
                    continue
                if not incident_type.active:
                    errors.add(
                        line,
                        "incident_type",
                        _("Type %(code)s is vervallen; kies een actief type.")
                        % {"code": incident_type.code},
                    )
                    continue
                key = label_key(label)
                previous = entries.get(key)
                if previous and previous.incident_type != incident_type:
                    errors.add(
                        line,
                        "source_label",
                        _("Label '%(label)s' staat al op regel %(line)s met een ander type.")
                        % {"label": _short(label), "line": previous.line},
                    )
                    continue
                entries[key] = MappingEntry(label, incident_type, line)
    except CsvFileError as exc:
        errors.add(exc.line, "", exc.message)
    return entries, errors


def stored_mapping(institution: Institution) -> dict[str, MappingEntry]:
    return {
        m.key: MappingEntry(m.source_label, m.incident_type)
        for m in LabelMapping.objects.filter(institution=institution).select_related(
            "incident_type"
        )
    }


def save_mapping(institution: Institution, entries: Iterable[MappingEntry], *, actor=None) -> int:
    """Add or change the institution's mapping entries; returns how many changed."""
    existing = {m.key: m for m in LabelMapping.objects.filter(institution=institution)}
    changed = 0
    for entry in entries:
        key = label_key(" ".join(entry.source_label.split()))
        current = existing.get(key)
        if current is None:
            LabelMapping.objects.create(
                institution=institution,
                source_label=entry.source_label,
                incident_type=entry.incident_type,
                updated_by=actor if actor and actor.is_authenticated else None,
            )
            changed += 1
        elif current.incident_type_id != entry.incident_type.pk:
            current.incident_type = entry.incident_type
            current.updated_by = actor if actor and actor.is_authenticated else None
            current.save()
            changed += 1
    return changed


# --- The import ----------------------------------------------------------------------------


def _first(index: dict[str, int], names: Iterable[str]) -> int | None:
    for name in names:
        if name in index:
            return index[name]
    return None


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class _Rollback(Exception):
    """Raised inside the import transaction to undo everything when a row is bad."""


@dataclass
class _Row:
    line: int
    location: Location | None
    new_location: tuple[str, str] | None
    incident_type: IncidentType
    occurred_on: date
    occurred_at: time | None
    place: str
    victim_role: str
    perpetrator_role: str
    injury: str
    police_involved: bool
    measures: str
    description: str
    external_id: str

    has_time: bool = False

    def value(self, name: str):
        if name == "location_id":
            return self.location.pk if self.location else ("new", *(self.new_location or ()))
        if name == "incident_type_id":
            return self.incident_type.pk
        return getattr(self, name)


# What identifies an incident's content (model attribute names). Location, type and date are
# in every file; the others count only when the file has their column, so that re-importing
# a legacy export that lacks, say, the victim's role neither duplicates nor overwrites an
# incident whose role a coordinator has filled in since.
KEY_FIELDS = [
    "location_id",
    "incident_type_id",
    "occurred_on",
    "place",
    "victim_role",
    "perpetrator_role",
    "injury",
    "police_involved",
    "measures",
    "description",
    "occurred_at",
]
ALWAYS = {"location_id", "incident_type_id", "occurred_on"}
OPTIONAL_FIELDS = set(KEY_FIELDS) - ALWAYS  # also their standard column names


def _key_value(value):
    if value is None:
        return ""
    if isinstance(value, date | time):
        return value.isoformat()
    return value


WRITE_FIELDS = [
    "location",
    "incident_type",
    "occurred_on",
    "occurred_at",
    "school_year",
    "place",
    "victim_role",
    "perpetrator_role",
    "injury",
    "police_involved",
    "measures",
    "description",
    "updated_at",
]
AUDIT_FIELDS = [
    "location",
    "incident_type",
    "occurred_on",
    "occurred_at",
    "place",
    "victim_role",
    "perpetrator_role",
    "injury",
    "police_involved",
    "measures",
    "description",
    "external_id",
]


class IncidentImporter:
    """One run over one file. Use :func:`import_incidents`."""

    def __init__(
        self,
        institution: Institution,
        *,
        options: ImportOptions,
        mapping: dict[str, MappingEntry] | None,
        actor,
        commit: bool,
        progress: Progress | None,
        report: ImportReport,
    ):
        self.institution = institution
        self.options = options
        self.file_mapping = mapping or {}
        self.actor = actor if actor is not None and actor.is_authenticated else None
        self.commit = commit
        self.progress = progress
        self.report = report
        self.errors = report.errors
        self.types = TypeIndex()
        self.mapping = {**stored_mapping(institution), **self.file_mapping}
        self.version = TaxonomyVersion.current()
        self.today = timezone.localdate()
        self.victims = _choice_lookup(VictimRole)
        self.perpetrators = _choice_lookup(PerpetratorRole)
        self.places = _choice_lookup(Place)
        self.injuries = _choice_lookup(Injury)
        self._dates: dict[str, tuple[date, time | None] | None] = {}
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
        self.to_create: list[tuple[_Row, Incident]] = []
        self.to_update: list[tuple[_Row, int]] = []
        self.created_locations: dict[tuple[str, str], Location] = {}

    # -- columns --

    def resolve_columns(self, csv_file) -> dict[str, int | None] | None:
        index = csv_file.index()
        columns: dict[str, int | None] = {}
        explicit = {
            "occurred_on": (self.options.date_column, "--date-column"),
            "location": (self.options.location_column, "--location-column"),
            "external_id": (self.options.id_column, "--id-column"),
        }
        ok = True
        for name, aliases in FIELD_ALIASES.items():
            wanted, option = explicit.get(name, ("", ""))
            if wanted:
                columns[name] = index.get(header_key(wanted))
                if columns[name] is None:
                    self._missing_column(csv_file, wanted, option)
                    ok = False
            else:
                columns[name] = _first(index, aliases)
        labels: list[int] = []
        if self.options.label_columns:
            for wanted in self.options.label_columns:
                position = index.get(header_key(wanted))
                if position is None:
                    self._missing_column(csv_file, wanted, "--label-columns")
                    ok = False
                else:
                    labels.append(position)
        elif columns["incident_type"] is None:
            labels = [p for group in LABEL_ALIASES if (p := _first(index, group)) is not None]
        if not ok:
            return None
        self.label_columns = labels
        self.legacy = bool(labels)
        self.present = {name for name in OPTIONAL_FIELDS if columns.get(name) is not None}
        self.column_names = {
            name: csv_file.header[i] for name, i in columns.items() if i is not None
        }
        required = ["location", "occurred_on"]
        if not self.legacy:
            required += ["incident_type", "victim_role"]
        missing = [name for name in required if columns[name] is None]
        if not self.legacy and columns["incident_type"] is None:
            missing.append("incident_type")
        if missing:
            self.errors.add(
                csv_file.header_line,
                "",
                _(
                    "Kolommen ontbreken: %(missing)s. Gevonden: %(found)s. Verwacht de "
                    "standaardkolommen (%(standard)s), of een export met labelkolommen "
                    "(Categorie, Subcategorie, Soort) en een koppeltabel; kolomnamen kunt u "
                    "ook zelf opgeven."
                )
                % {
                    "missing": ", ".join(dict.fromkeys(missing)),
                    "found": ", ".join(_short(h, 30) for h in csv_file.header[:30]) or "-",
                    "standard": ", ".join(REQUIRED_STANDARD),
                },
            )
            return None
        used = [i for i in columns.values() if i is not None] + labels
        for i in used:
            if csv_file.duplicated(csv_file.keys[i]):
                self.errors.add(
                    csv_file.header_line,
                    csv_file.header[i],
                    _("Deze kolom komt meer dan eens voor in de kopregel."),
                )
                return None
        return columns

    def _missing_column(self, csv_file, wanted: str, option: str) -> None:
        self.errors.add(
            csv_file.header_line,
            wanted,
            _("Kolom '%(column)s' (%(option)s) staat niet in de kopregel. Gevonden: %(found)s.")
            % {
                "column": _short(wanted, 40),
                "option": option,
                "found": ", ".join(_short(h, 30) for h in csv_file.header[:30]) or "-",
            },
        )

    # -- rows --

    def parse_row(self, line: int, cells: list[str], columns: dict[str, int | None]) -> _Row | None:
        errors = self.errors
        before = errors.total
        header = self.column_names

        def cell(name: str) -> str:
            i = columns[name]
            if i is None:
                return ""
            value = cells[i]
            if looks_like_formula(value):
                errors.add(
                    line,
                    header[name],
                    _(
                        "De cel begint met '%(char)s' en zou in een spreadsheet als formule "
                        "worden uitgevoerd. Zet er een ' voor als het tekst is."
                    )
                    % {"char": value[0]},
                )
                return ""
            return unescape_formula(value)

        # Location
        location = None
        new_location = None
        location_value = cell("location")
        if not location_value:
            errors.add(line, header["location"], _("De vestiging ontbreekt."))
        else:
            location = self.locations_by_code.get(location_value.casefold())
            if location is None:
                location = self.locations_by_name.get(label_key(location_value))
            if location is None:
                if self.options.create_locations:
                    new_location = self._plan_location(location_value)
                    self.new_location_rows[new_location] += 1
                else:
                    errors.add(
                        line,
                        header["location"],
                        _(
                            "Onbekende vestiging '%(value)s' (geen code of naam van een "
                            "vestiging van %(institution)s). Maak haar eerst aan, of importeer "
                            "met --create-locations."
                        )
                        % {"value": _short(location_value), "institution": self.institution.name},
                    )

        # Date and time
        occurred_on = None
        occurred_at = None
        date_value = cell("occurred_on")
        if not date_value:
            errors.add(line, header["occurred_on"], _("De datum ontbreekt."))
        else:
            parsed = self._dates.get(date_value, False)
            if parsed is False:
                if len(self._dates) > 50_000:  # dates with times rarely repeat: stay bounded
                    self._dates.clear()
                parsed = self._dates[date_value] = parse_date(date_value)
            if parsed is None:
                errors.add(
                    line,
                    header["occurred_on"],
                    _(
                        "Ongeldige datum '%(value)s'; gebruik 2023-03-14, 14-03-2023 of "
                        "14/03/2023 (eventueel met tijd)."
                    )
                    % {"value": _short(date_value)},
                )
            else:
                occurred_on, occurred_at = parsed
                if occurred_on > self.today:
                    errors.add(line, header["occurred_on"], _("De datum ligt in de toekomst."))
                elif occurred_on < EARLIEST_INCIDENT_DATE:
                    errors.add(line, header["occurred_on"], _("De datum ligt vóór 1 januari 2000."))
        time_value = cell("occurred_at")
        if time_value:
            occurred_at = parse_time(time_value)
            if occurred_at is None:
                errors.add(
                    line,
                    header["occurred_at"],
                    _("Ongeldige tijd '%(value)s'; gebruik 14:30.") % {"value": _short(time_value)},
                )

        # Type
        incident_type = None
        if self.legacy:
            labels = [cells[i] for i in self.label_columns]
            label = " > ".join(" ".join(v.split()) for v in labels if v.strip())
            if not label:
                errors.add(
                    line,
                    self._label_header(),
                    _("Geen label: de labelkolommen zijn leeg."),
                )
            else:
                key = label_key(label)
                entry = self.mapping.get(key)
                incident_type = entry.incident_type if entry else self.types.find(label)
                if incident_type is None:
                    seen = self.unmapped.get(key)
                    if seen:
                        seen[1] += 1
                    else:
                        self.unmapped[key] = [label, 1, line]
                    errors.add(
                        line,
                        self._label_header(),
                        _("Label '%(label)s' is niet gekoppeld aan een type incident.")
                        % {"label": _short(label)},
                    )
        else:
            type_value = cell("incident_type")
            if not type_value:
                errors.add(line, header["incident_type"], _("Het type incident ontbreekt."))
            else:
                incident_type = self.types.find(type_value)
                if incident_type is None:
                    errors.add(
                        line,
                        header["incident_type"],
                        _(
                            "Onbekend type incident '%(value)s'; gebruik een code (MIS.FYS.06) "
                            "of de exacte Nederlandse naam."
                        )
                        % {"value": _short(type_value)},
                    )

        # Plain strings (.value), not enum members: the fingerprints compare their repr.
        victim_role = self._choice(
            line, cell, "victim_role", self.victims, VictimRole.UNKNOWN.value
        )
        perpetrator_role = self._choice(
            line, cell, "perpetrator_role", self.perpetrators, PerpetratorRole.UNKNOWN.value
        )
        place = self._choice(line, cell, "place", self.places, "")
        # A register that did not record injury must not claim "no injury".
        injury = self._choice(line, cell, "injury", self.injuries, Injury.UNKNOWN.value)
        police_value = cell("police_involved").casefold()
        police = police_value in TRUE
        if police_value not in TRUE and police_value not in FALSE:
            errors.add(
                line,
                header["police_involved"],
                _("Ongeldige waarde '%(value)s'; gebruik ja of nee.")
                % {"value": _short(police_value)},
            )
        measures = cell("measures")
        description = cell("description")
        for name, value, limit in (
            ("measures", measures, TEXT_MAX_LENGTH),
            ("description", description, TEXT_MAX_LENGTH),
        ):
            if len(value) > limit:
                errors.add(
                    line,
                    header[name],
                    _("De tekst is %(length)s tekens lang; maximaal %(max)s.")
                    % {"length": len(value), "max": limit},
                )
        external_id = cell("external_id")
        if len(external_id) > 100:
            errors.add(line, header["external_id"], _("Het nummer is langer dan 100 tekens."))

        if errors.total != before:
            return None
        return _Row(
            has_time="occurred_at" in self.present or occurred_at is not None,
            line=line,
            location=location,
            new_location=new_location,
            incident_type=incident_type,
            occurred_on=occurred_on,
            occurred_at=occurred_at,
            place=place,
            victim_role=victim_role,
            perpetrator_role=perpetrator_role,
            injury=injury,
            police_involved=police,
            measures=measures,
            description=description,
            external_id=external_id,
        )

    def _label_header(self) -> str:
        return " > ".join(self.csv_header[i] for i in self.label_columns)

    def _choice(self, line: int, cell, name: str, lookup: dict[str, str], default: str) -> str:
        value = cell(name)
        if not value:
            return default
        found = lookup.get(value)
        if found is None:
            found = lookup.get(label_key(value))
            if found is not None:
                lookup[value] = found  # the same spelling comes again in the next rows
        if found is None:
            allowed = sorted({v for v in lookup.values()})
            self.errors.add(
                line,
                self.column_names[name],
                _("Ongeldige waarde '%(value)s'; kies uit %(allowed)s.")
                % {"value": _short(value), "allowed": ", ".join(allowed)},
            )
            return default
        return found

    def _plan_location(self, value: str) -> tuple[str, str]:
        key = label_key(value)
        planned = self.new_locations.get(key)
        if planned:
            return planned
        name = value[:200]
        if _CODE.match(value):
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
        return code, name

    # -- existing state --

    def load_existing(self) -> None:
        """What the institution already has: incidents by external id (with fingerprints
        to tell unchanged from changed) and fingerprints of those without one.

        Each incident gets two fingerprints over the fields this file has: with and without
        the time (a row carries a time when the file has a time column or its date has one).
        """
        self.key_without = [n for n in KEY_FIELDS if n in ALWAYS or n in self.present]
        self.key_without = [n for n in self.key_without if n != "occurred_at"]
        self.key_with = [*self.key_without, "occurred_at"]
        self.by_external: dict[str, tuple[int, str, bytes, bytes, int, int]] = {}
        self.existing_with: Counter[bytes] = Counter()
        self.existing_without: Counter[bytes] = Counter()
        rows = (
            Incident.objects.filter(institution=self.institution)
            .order_by()
            .values_list("pk", "external_id", "status", *KEY_FIELDS)
            .iterator(chunk_size=5000)
        )
        for pk, external_id, status, *values in rows:
            by_name = dict(zip(KEY_FIELDS, values, strict=True))
            with_time = _digest(_key_value(by_name[n]) for n in self.key_with)
            without_time = _digest(_key_value(by_name[n]) for n in self.key_without)
            if external_id:
                self.by_external[external_id] = (
                    pk,
                    status,
                    with_time,
                    without_time,
                    by_name["location_id"],
                    by_name["incident_type_id"],
                )
            else:
                self.existing_with[with_time] += 1
                self.existing_without[without_time] += 1

    # -- decisions and writes --

    def decide(self, row: _Row) -> None:
        names = self.key_with if row.has_time else self.key_without
        digest = _digest(_key_value(row.value(n)) for n in names)
        if row.external_id:
            first = self.seen_external.get(row.external_id)
            if first:
                self.errors.add(
                    row.line,
                    self.column_names.get("external_id", "external_id"),
                    _("Nummer '%(value)s' staat ook al op regel %(line)s.")
                    % {"value": _short(row.external_id), "line": first},
                )
                return
            self.seen_external[row.external_id] = row.line
            existing = self.by_external.get(row.external_id)
            if existing is not None:
                pk, status, with_time, without_time, location_id, type_id = existing
                if digest == (with_time if row.has_time else without_time):
                    self.report.unchanged += 1
                elif status == Status.WITHDRAWN:
                    self.errors.add(
                        row.line,
                        self.column_names.get("external_id", "external_id"),
                        _(
                            "Incident met nummer '%(value)s' is ingetrokken en kan niet meer "
                            "worden gewijzigd."
                        )
                        % {"value": _short(row.external_id)},
                    )
                    return
                else:
                    if not self._check_active(row, location_id, type_id):
                        return
                    self.report.updated += 1
                    self.to_update.append((row, pk))
                self._count(row)
                return
        else:
            self.file_keys[digest] += 1
            existing_keys = self.existing_with if row.has_time else self.existing_without
            if self.file_keys[digest] <= existing_keys[digest]:
                self.report.unchanged += 1
                self._count(row)
                return
        if not self._check_active(row, None, None):
            return
        self.report.created += 1
        self._count(row)
        self.to_create.append((row, None))

    def _check_active(self, row: _Row, old_location_id, old_type_id) -> bool:
        # As Incident.clean(): a retired type or closed location may stay on an old
        # incident, but is no valid new choice.
        ok = True
        if row.incident_type.pk != old_type_id and not row.incident_type.active:
            self.errors.add(
                row.line,
                self.column_names.get("incident_type") or self._label_header(),
                _("Type %(code)s is vervallen; kies een actief type.")
                % {"code": row.incident_type.code},
            )
            ok = False
        location = row.location
        if (
            location is not None
            and location.pk != old_location_id
            and not (location.active and self.institution.active)
        ):
            self.errors.add(
                row.line,
                self.column_names["location"],
                _("Vestiging %(code)s is niet actief.") % {"code": location.code},
            )
            ok = False
        return ok

    def _count(self, row: _Row) -> None:
        self.per_category[row.incident_type.category.name_nl] += 1
        self.per_year[school_year_of(row.occurred_on)] += 1

    def _location_for(self, row: _Row) -> Location:
        if row.location is not None:
            return row.location
        code, name = row.new_location
        location = self.created_locations.get((code, name))
        if location is None:
            location = Location.objects.create(institution=self.institution, code=code, name=name)
            self.created_locations[(code, name)] = location
        return location

    def flush(self, final: bool = False) -> None:
        """Write the buffered rows (commit mode, and only while the file is still valid)."""
        if not self.commit or self.errors:
            self.to_create.clear()
            self.to_update.clear()
            return
        if self.to_create and (final or len(self.to_create) >= BATCH):
            self._write_created()
        if self.to_update and (final or len(self.to_update) >= BATCH):
            self._write_updated()

    def _write_created(self) -> None:
        now = timezone.now()
        incidents = []
        for row, _unused in self.to_create:
            location = self._location_for(row)
            incidents.append(
                Incident(
                    institution_id=self.institution.pk,
                    location=location,
                    incident_type=row.incident_type,
                    taxonomy_version=self.version,
                    occurred_on=row.occurred_on,
                    occurred_at=row.occurred_at,
                    school_year=school_year_of(row.occurred_on),
                    place=row.place,
                    victim_role=row.victim_role,
                    perpetrator_role=row.perpetrator_role,
                    injury=row.injury,
                    police_involved=row.police_involved,
                    measures=row.measures,
                    description=row.description,
                    external_id=row.external_id,
                    registered_by=self.actor,
                )
            )
        Incident.objects.bulk_create(incidents)
        events = []
        for incident in incidents:
            # As register_incident(): the fields that were set; personal data only as ***.
            changes = {}
            for name in AUDIT_FIELDS:
                value = _audit(incident, name)
                if value not in ("", None):
                    changes[name] = [None, _masked(name, value)]
            events.append(
                IncidentEvent(
                    incident=incident,
                    actor=self.actor,
                    action=EventAction.IMPORTED,
                    changes=changes,
                    at=now,
                )
            )
            self.report.school_years.add(incident.school_year)
        IncidentEvent.objects.bulk_create(events)
        self.to_create.clear()

    def _write_updated(self) -> None:
        now = timezone.now()
        existing = Incident.objects.select_related("location", "incident_type").in_bulk(
            [pk for _row, pk in self.to_update]
        )
        changed, events = [], []
        for row, pk in self.to_update:
            incident = existing[pk]
            before = {name: _audit(incident, name) for name in AUDIT_FIELDS}
            self.report.school_years.add(incident.school_year)
            incident.location = self._location_for(row)
            incident.incident_type = row.incident_type
            incident.occurred_on = row.occurred_on
            incident.school_year = school_year_of(row.occurred_on)
            # Only what the file has: a column it lacks leaves the incident's value alone.
            for name in self.present:
                if name != "occurred_at":
                    setattr(incident, name, getattr(row, name))
            if row.has_time:
                incident.occurred_at = row.occurred_at
            incident.updated_at = now
            after = {name: _audit(incident, name) for name in AUDIT_FIELDS}
            diff = {
                name: [_masked(name, before[name]), _masked(name, after[name])]
                for name in AUDIT_FIELDS
                if before[name] != after[name]
            }
            self.report.school_years.add(incident.school_year)
            changed.append(incident)
            events.append(
                IncidentEvent(
                    incident=incident,
                    actor=self.actor,
                    action=EventAction.IMPORTED,
                    changes=diff,
                    at=now,
                )
            )
        Incident.objects.bulk_update(changed, WRITE_FIELDS)
        IncidentEvent.objects.bulk_create(events)
        self.to_update.clear()

    # -- the run --

    def run(self, csv_file) -> None:
        self.csv_header = csv_file.header
        columns = self.resolve_columns(csv_file)
        if columns is None:
            return
        self.seen_external: dict[str, int] = {}
        self.file_keys: Counter[bytes] = Counter()
        self.load_existing()
        for line, cells in csv_file.rows(self.errors, progress=self.progress):
            row = self.parse_row(line, cells, columns)
            if row is not None:
                self.decide(row)
                self.flush()
        self.report.rows = csv_file.data_rows
        if self.report.rows == 0 and not self.errors:
            self.errors.add(0, "", _("Het bestand bevat geen gegevensrijen."))
        self.flush(final=True)

    def finish_report(self) -> None:
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
        if getattr(self, "legacy", False):
            report.notes.append(
                _("Labelkolommen: %(columns)s (koppeltabel: %(count)s labels).")
                % {"columns": self._label_header(), "count": len(self.mapping)}
            )


def _audit(incident: Incident, name: str):
    if name == "location":
        return incident.location.code
    if name == "incident_type":
        return incident.incident_type.code
    value = getattr(incident, name)
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _masked(name: str, value):
    return (MASK if value else "") if name in MASKED_FIELDS else value


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
    """Validate an incident file for ``institution`` and, with ``commit``, import it.

    All or nothing: when the report has errors nothing was written. ``mapping`` (from
    :func:`read_mapping_file`) is used on top of the stored mapping and stored with a
    successful import. Listeners get ``incidents_changed`` after commit.
    """
    options = options or ImportOptions()
    report = ImportReport(kind="incidents")
    report.source_name = name or Path(getattr(source, "name", "") or str(source)).name
    try:
        with open_csv(source, name=report.source_name) as csv_file:
            report.source_name = csv_file.name
            report.notes.append(
                _("Tekenset %(encoding)s, scheidingsteken '%(delimiter)s'.")
                % {"encoding": csv_file.encoding_label, "delimiter": csv_file.delimiter}
            )
            if not commit:
                importer = _importer(institution, options, mapping, actor, False, progress, report)
                importer.run(csv_file)
                importer.finish_report()
                return report
            try:
                with transaction.atomic():
                    # One import per institution at a time: a double confirmation must
                    # not import rows without a number twice. NO KEY: registrations (which
                    # take a key-share lock on the institution row) go on meanwhile.
                    Institution.objects.select_for_update(no_key=True).filter(
                        pk=institution.pk
                    ).first()
                    importer = _importer(
                        institution, options, mapping, actor, True, progress, report
                    )
                    importer.run(csv_file)
                    importer.finish_report()
                    if report.errors:
                        raise _Rollback
                    if mapping:
                        save_mapping(institution, mapping.values(), actor=actor)
                    years = set(report.school_years)
                    if years:
                        notify_incidents_changed(years)
                    report.committed = True
            except _Rollback:
                _undo_counts(report)
            except IntegrityError as exc:
                _undo_counts(report)
                report.errors.add(
                    0,
                    "",
                    _(
                        "Tijdens de import veranderden dezelfde incidenten ook elders "
                        "(%(reason)s). Er is niets opgeslagen; probeer het opnieuw."
                    )
                    % {"reason": _short(str(exc), 120)},
                )
    except CsvFileError as exc:
        report.fatal(exc)
        _undo_counts(report)
    return report


def _undo_counts(report: ImportReport) -> None:
    """Nothing was written: keep the row count and the summary of what the file holds."""
    report.committed = False
    report.school_years.clear()


def _importer(institution, options, mapping, actor, commit, progress, report):
    return IncidentImporter(
        institution,
        options=options,
        mapping=mapping,
        actor=actor,
        commit=commit,
        progress=progress,
        report=report,
    )


def progress_cache_key(job_id: int) -> str:
    return f"miv:import-progress:{job_id}"


def publish_progress(job_id: int, fraction: float) -> None:
    """Progress is also published through the cache: inside the import transaction an
    update of the job row would stay invisible to the page until the very end."""
    cache.set(progress_cache_key(job_id), int(fraction * 100), timeout=3600)
