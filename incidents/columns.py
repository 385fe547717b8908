"""The incident's interchange format: one definition per column, for every import and export.

A :class:`Column` knows its machine name (the header in every file, whatever the interface
language), its label and description for people (the codebook), how an export reads it
from the database, how it is written as CSV text and as an XLSX cell, and how an import
cleans a cell back into a value (in the spirit of pretix's ``ImportColumn``). Adding a field
to the files is adding one column here:

* :data:`STANDARD` — the standard CSV: what :func:`incidents.importers.import_incidents`
  reads and :func:`incidents.exporters.write_incidents_csv` writes, so a round trip is
  lossless. Choice fields carry their stable values (``student``, ``staff``, …).
* :data:`LIST` — the incident-list export (CSV and XLSX): the standard columns plus the
  export-only ``reference`` and ``status`` (an import ignores them).
* :data:`AUDITED` — the fields the audit trail records, as the services do.

Cells a spreadsheet would run as a formula are escaped on export
(:func:`miv.csvfiles.escape_formula`) and refused unescaped on import; both happen in the
writers and the import driver, not per column.

Size (just over 500 lines): one class per column of the interchange format, each
reading, cleaning and writing itself; adding a field is one class here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol

from django.db.models import Case, CharField, Expression, F, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.db.models.lookups import Exact, LessThan
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from miv.cellvalues import FALSE, TRUE, choice_lookup, parse_date, parse_time, time_text
from miv.csvfiles import label_key
from miv.csvsql import IsoDate, TimeText

from .choices import Injury, PerpetratorRole, Place, Status, VictimRole
from .models import EARLIEST_INCIDENT_DATE, NOTE_MAX_LENGTH, TEXT_MAX_LENGTH


class Lookups(Protocol):
    """What a column needs from the import to clean a cell: the institution's locations,
    the taxonomy, the options and caches (:class:`incidents.importers.IncidentImporter`)."""

    institution: Any
    options: Any
    types: Any
    today: date
    parsed_dates: dict
    locations_by_code: dict
    locations_by_name: dict

    def plan_location(self, value: str) -> tuple[str, str]: ...


class CellError(ValueError):
    """A cell that cannot be imported; the message is for the uploader."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- Columns -------------------------------------------------------------------------------


@dataclass(eq=False)
class Column:
    """One column of the interchange format; see the module docstring.

    ``source`` is the path an export reads (``values_list``); ``attribute`` the model field
    an import sets (empty: export-only). ``aliases`` are further header names an import
    recognises (compared as :func:`miv.csvfiles.header_key`), e.g. the Dutch names of
    legacy registers.
    """

    name: str
    label: Promise
    description: Promise
    source: str = ""
    attribute: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    personal: bool = False
    default: Any = ""
    number_format: str | None = None
    width: int = 14
    # The message for an empty cell; None: an empty cell means ``default``.
    missing: Promise | None = None
    # The model field is a foreign key and the file holds the related object's code.
    related = False
    # Values come from a fixed set MIV writes itself (dates, choices): never a formula, and
    # never a character CSV must quote (a comma, a quote, a line break).
    formula_safe = False

    def __post_init__(self) -> None:
        self.source = self.source or self.name

    @property
    def importable(self) -> bool:
        return bool(self.attribute)

    @property
    def attname(self) -> str:
        """The model's database attribute (``location_id`` for a foreign key)."""
        return f"{self.attribute}_id" if self.related else self.attribute

    # -- export --

    def to_text(self, value: Any) -> str:
        """The CSV cell (before formula escaping)."""
        return "" if value is None else str(value)

    def to_cell(self, value: Any) -> Any:
        """The XLSX cell: text unless the column holds dates, times or numbers."""
        return self.to_text(value)

    def sql_text(self) -> Expression:
        """:meth:`to_text` as the database writes it (:mod:`miv.csvsql`; NULL is empty)."""
        return F(self.source)

    # -- import --

    def clean(self, raw: str, importer: Lookups) -> Any:
        """The value of a non-empty cell; raises :class:`CellError`."""
        return raw

    def audit(self, value: Any) -> Any:
        """How the audit trail records a model value of this column."""
        if isinstance(value, date | time | datetime):
            return value.isoformat()
        return value


class LocationColumn(Column):
    """A location of the importing institution, by code or (exact, case-insensitive) name;
    an unknown one is planned for creation when the import allows it."""

    related = True

    def clean(self, raw, importer):
        location = importer.locations_by_code.get(raw.casefold())
        if location is None:
            location = importer.locations_by_name.get(label_key(raw))
        if location is not None:
            return location
        if importer.options.create_locations:
            return importer.plan_location(raw)
        raise CellError(
            _(
                "Onbekende vestiging '%(value)s' (geen code of naam van een vestiging van "
                "%(institution)s). Maak haar eerst aan, of importeer met --create-locations."
            )
            % {"value": short(raw), "institution": importer.institution.name}
        )

    def audit(self, value):
        return value.code if value is not None else None


class DateColumn(Column):
    """The day; a time after the date (``14-03-2023 10:15``) fills ``occurred_at`` when the
    file has no time of its own."""

    formula_safe = True

    def to_text(self, value):
        return value.isoformat() if value else ""

    def to_cell(self, value):
        return value

    def sql_text(self):
        return IsoDate(F(self.source))

    def clean(self, raw, importer):
        parsed = importer.parsed_dates.get(raw, False)
        if parsed is False:
            if len(importer.parsed_dates) > 50_000:  # dates with times rarely repeat
                importer.parsed_dates.clear()
            parsed = importer.parsed_dates[raw] = parse_date(raw)
        if parsed is None:
            raise CellError(
                _(
                    "Ongeldige datum '%(value)s'; gebruik 2023-03-14, 14-03-2023 of 14/03/2023 "
                    "(eventueel met tijd)."
                )
                % {"value": short(raw)}
            )
        day = parsed[0]
        if day > importer.today:
            raise CellError(_("De datum ligt in de toekomst."))
        if day < EARLIEST_INCIDENT_DATE:
            raise CellError(_("De datum ligt vóór 1 januari 2000."))
        return parsed


class TimeColumn(Column):
    formula_safe = True

    def to_text(self, value):
        return time_text(value)

    def to_cell(self, value):
        return value

    def sql_text(self):
        return TimeText(F(self.source))

    def clean(self, raw, importer):
        value = parse_time(raw)
        if value is None:
            raise CellError(_("Ongeldige tijd '%(value)s'; gebruik 14:30.") % {"value": short(raw)})
        return value


class TypeColumn(Column):
    """A taxonomy type by its code or its exact Dutch name. A legacy export names it with
    its own labels instead (``Categorie > Subcategorie``), read through the institution's
    mapping by the importer."""

    related = True

    def clean(self, raw, importer):
        incident_type = importer.types.find(raw)
        if incident_type is None:
            raise CellError(
                _(
                    "Onbekend type incident '%(value)s'; gebruik een code (MIS.FYS.06) of de "
                    "exacte Nederlandse naam."
                )
                % {"value": short(raw)}
            )
        return incident_type

    def audit(self, value):
        return value.code if value is not None else None


class ChoiceColumn(Column):
    """A choice by its stable value, or its Dutch or English label."""

    formula_safe = True

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.values = tuple(choices.values)
        self._lookup: dict[str, str] | None = None

    def lookup(self) -> dict[str, str]:
        if self._lookup is None:
            self._lookup = choice_lookup(self.choices)
        return self._lookup

    def clean(self, raw, importer):
        lookup = self.lookup()
        found = lookup.get(raw)
        if found is None:
            found = lookup.get(label_key(raw))
            if found is not None:
                lookup[raw] = found  # the same spelling comes again in the next rows
        if found is None:
            raise CellError(
                _("Ongeldige waarde '%(value)s'; kies uit %(allowed)s.")
                % {"value": short(raw), "allowed": ", ".join(sorted(self.values))}
            )
        return found


class BooleanColumn(Column):
    formula_safe = True

    def to_text(self, value):
        return "ja" if value else "nee"

    def sql_text(self):
        return Case(When(Exact(F(self.source), True), then=Value("ja")), default=Value("nee"))

    def clean(self, raw, importer):
        value = raw.casefold()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise CellError(
            _("Ongeldige waarde '%(value)s'; gebruik ja of nee.") % {"value": short(value)}
        )


class TextColumn(Column):
    def __init__(self, *args, max_length: int, too_long: Promise | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_length = max_length
        self.too_long = too_long

    def clean(self, raw, importer):
        if len(raw) > self.max_length:
            if self.too_long is not None:
                raise CellError(str(self.too_long))
            raise CellError(
                _("De tekst is %(length)s tekens lang; maximaal %(max)s.")
                % {"length": len(raw), "max": self.max_length}
            )
        return raw


class ReferenceColumn(Column):
    formula_safe = True

    def to_text(self, value):
        return f"MIV-{value:06d}"

    def sql_text(self):
        number = Cast(F(self.source), CharField())
        padded = Case(
            When(LessThan(F(self.source), 1_000_000), then=LPad(number, 6, Value("0"))),
            default=number,
            output_field=CharField(),
        )
        return Concat(Value("MIV-"), padded, output_field=CharField())


LOCATION = LocationColumn(
    "location",
    gettext_lazy("Vestiging (code)"),
    gettext_lazy("Code van de vestiging; bij import ook de naam."),
    source="location__code",
    attribute="location",
    aliases=("vestiging", "locatie", "vestigingscode", "locationcode"),
    required=True,
    missing=gettext_lazy("De vestiging ontbreekt."),
    width=12,
)
OCCURRED_ON = DateColumn(
    "occurred_on",
    gettext_lazy("Datum"),
    gettext_lazy("Dag van het incident, JJJJ-MM-DD; bij import ook DD-MM-JJJJ."),
    attribute="occurred_on",
    aliases=(
        "aanmelddatum",
        "datum",
        "date",
        "incidentdatum",
        "datumincident",
        "meldingsdatum",
        "melddatum",
    ),
    required=True,
    missing=gettext_lazy("De datum ontbreekt."),
    number_format="yyyy-mm-dd",
    width=11,
)
INCIDENT_TYPE = TypeColumn(
    "incident_type",
    gettext_lazy("Type incident (code)"),
    gettext_lazy("Code van het type in de indeling (MIS.FYS.06); bij import ook de naam."),
    source="incident_type__code",
    attribute="incident_type",
    aliases=("typeincident",),
    required=True,
    missing=gettext_lazy("Het type incident ontbreekt."),
    width=12,
)
VICTIM_ROLE = ChoiceColumn(
    "victim_role",
    gettext_lazy("Slachtoffer"),
    gettext_lazy("Rol van het slachtoffer."),
    attribute="victim_role",
    aliases=("slachtoffer", "rolslachtoffer", "victim"),
    required=True,
    choices=VictimRole,
    default=VictimRole.UNKNOWN.value,
    width=10,
)
OCCURRED_AT = TimeColumn(
    "occurred_at",
    gettext_lazy("Tijd"),
    gettext_lazy("Tijdstip, UU:MM (leeg: onbekend)."),
    attribute="occurred_at",
    aliases=("tijd", "tijdstip", "time", "aanmeldtijd"),
    default=None,
    number_format="hh:mm",
    width=8,
)
PLACE = ChoiceColumn(
    "place",
    gettext_lazy("Plek"),
    gettext_lazy("Plek van het incident (leeg: niet vastgelegd)."),
    attribute="place",
    aliases=("plek", "plekincident"),
    choices=Place,
    default="",
    width=12,
)
PERPETRATOR_ROLE = ChoiceColumn(
    "perpetrator_role",
    gettext_lazy("Dader"),
    gettext_lazy("Rol van de dader."),
    attribute="perpetrator_role",
    aliases=("dader", "roldader", "perpetrator"),
    choices=PerpetratorRole,
    default=PerpetratorRole.UNKNOWN.value,
    width=10,
)
INJURY = ChoiceColumn(
    "injury",
    gettext_lazy("Letsel"),
    gettext_lazy("Letsel; een register dat het niet vastlegde geeft unknown, nooit none."),
    attribute="injury",
    aliases=("letsel",),
    choices=Injury,
    # A register that did not record injury must not claim "no injury".
    default=Injury.UNKNOWN.value,
    width=10,
)
POLICE_INVOLVED = BooleanColumn(
    "police_involved",
    gettext_lazy("Politie betrokken"),
    gettext_lazy("ja of nee."),
    attribute="police_involved",
    aliases=("politie", "politiebetrokken", "police"),
    default=False,
    width=8,
)
MEASURES = TextColumn(
    "measures",
    gettext_lazy("Genomen maatregelen"),
    gettext_lazy("Vrije tekst; persoonsgegevens (AVG)."),
    attribute="measures",
    aliases=("maatregelen", "genomenmaatregelen"),
    personal=True,
    max_length=TEXT_MAX_LENGTH,
    width=40,
)
DESCRIPTION = TextColumn(
    "description",
    gettext_lazy("Beschrijving"),
    gettext_lazy("Vrije tekst; persoonsgegevens (AVG)."),
    attribute="description",
    aliases=("beschrijving", "omschrijving", "toelichting"),
    personal=True,
    max_length=TEXT_MAX_LENGTH,
    width=60,
)
# Not in the interchange files: the coordinator's note to the reporter on closing. Audited
# (masked, like every personal-data text).
REPORTER_NOTE = TextColumn(
    "reporter_note",
    gettext_lazy("Bericht aan de melder"),
    gettext_lazy("Vrije tekst bij het afsluiten; persoonsgegevens (AVG)."),
    attribute="reporter_note",
    personal=True,
    max_length=NOTE_MAX_LENGTH,
    width=40,
)
EXTERNAL_ID = TextColumn(
    "external_id",
    gettext_lazy("Extern nummer"),
    gettext_lazy(
        "Nummer in het eigen systeem; een nieuwe import met hetzelfde nummer werkt het "
        "incident bij."
    ),
    attribute="external_id",
    aliases=(
        "incidentnummer",
        "nummer",
        "number",
        "incidentnumber",
        "meldingsnummer",
        "meldingnummer",
    ),
    max_length=100,
    too_long=gettext_lazy("Het nummer is langer dan 100 tekens."),
    width=14,
)
REFERENCE = ReferenceColumn(
    "reference",
    gettext_lazy("Kenmerk"),
    gettext_lazy("Kenmerk in MIV (MIV-000123); alleen export, een import negeert het."),
    source="pk",
    width=12,
)
STATUS = ChoiceColumn(
    "status",
    gettext_lazy("Status"),
    gettext_lazy("open, closed of withdrawn; alleen export, een import negeert het."),
    choices=Status,
    width=10,
)

# The standard CSV, in the order the export writes them.
STANDARD: tuple[Column, ...] = (
    LOCATION,
    OCCURRED_ON,
    INCIDENT_TYPE,
    VICTIM_ROLE,
    OCCURRED_AT,
    PLACE,
    PERPETRATOR_ROLE,
    INJURY,
    POLICE_INVOLVED,
    MEASURES,
    DESCRIPTION,
    EXTERNAL_ID,
)
# The incident-list export: the standard columns (so it can be imported again) and the
# incident's place in MIV.
LIST: tuple[Column, ...] = (*STANDARD, REFERENCE, STATUS)
# What the audit trail records (incidents.services), in this order.
AUDITED: tuple[Column, ...] = (
    LOCATION,
    INCIDENT_TYPE,
    OCCURRED_ON,
    OCCURRED_AT,
    PLACE,
    VICTIM_ROLE,
    PERPETRATOR_ROLE,
    INJURY,
    POLICE_INVOLVED,
    MEASURES,
    DESCRIPTION,
    REPORTER_NOTE,
    STATUS,
    EXTERNAL_ID,
)

STANDARD_COLUMNS = [c.name for c in STANDARD]
LIST_COLUMNS = [c.name for c in LIST]
REQUIRED_STANDARD = [c.name for c in STANDARD if c.required]
BY_NAME = {c.name: c for c in LIST}


def audit_snapshot(incident, columns: tuple[Column, ...] = AUDITED) -> dict[str, Any]:
    """The audited fields of an incident as the audit trail records them (codes, ISO dates)."""
    snapshot: dict[str, Any] = {}
    for column in columns:
        if column.related:
            related_id = getattr(incident, f"{column.name}_id")
            snapshot[column.name] = getattr(incident, column.name).code if related_id else None
        else:
            snapshot[column.name] = column.audit(getattr(incident, column.name))
    return snapshot
