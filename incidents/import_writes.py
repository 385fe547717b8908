"""The writes of an incident import: new incidents and changed ones, each with its audit event.

:class:`IncidentWriter` buffers the rows the importer decided on and writes them in batches,
inside the import's one transaction. New incidents go in with :func:`miv.bulk.copy_text`
(``COPY`` in text format on PostgreSQL, with their ids reserved from the sequence first so that the
events can be written in the same way); elsewhere with ``bulk_create``. Changed incidents are
rare (a re-import with corrections) and use ``bulk_update``.

The audit event of an imported incident is the one :func:`incidents.services.register_incident`
would write: the fields that were set, personal data only as ``***``
(:data:`incidents.columns.AUDITED`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from miv.bulk import NULL, copy_field, copy_text, reserve_ids
from miv.importreport import ImportReport
from miv.schoolyear import school_year_of
from taxonomy.models import TaxonomyVersion

from . import columns as cols
from .choices import EventAction, Status
from .models import Incident, IncidentEvent, Institution, Location
from .services import MASK, MASKED_FIELDS

# What an imported incident's event records: the audited fields a file can set.
AUDIT = tuple(c for c in cols.AUDITED if c.importable)
INCIDENT_COLUMNS = (
    "id",
    "institution_id",
    "location_id",
    "incident_type_id",
    "taxonomy_version_id",
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
    "status",
    "external_id",
    "registered_by_id",
    "created_at",
    "updated_at",
    "anonymised_at",
    "reporter_note",
)
EVENT_COLUMNS = ("incident_id", "actor_id", "action", "changes", "at")
UPDATED_FIELDS = [
    *(c.attribute for c in cols.STANDARD if c.importable and c is not cols.EXTERNAL_ID),
    "school_year",
    "updated_at",
]


@dataclass(slots=True)
class ImportRow:
    """One valid row: its line and its values by model attribute (``location`` holds a
    :class:`Location` or a planned ``(code, name)``, ``incident_type`` an IncidentType)."""

    line: int
    values: dict[str, Any]
    has_time: bool

    def key(self, names: list[str]) -> tuple:
        """The values of ``names`` (model attributes; ``location_id`` and
        ``incident_type_id`` as primary keys, a planned location as its code and name)."""
        values = self.values
        out = []
        for name in names:
            if name == "location_id":
                location = values["location"]
                out.append(location.pk if isinstance(location, Location) else ("new", *location))
            elif name == "incident_type_id":
                out.append(values["incident_type"].pk)
            else:
                out.append(values[name])
        return tuple(out)


def _audit_converter(column: cols.Column):
    if column.related:
        return lambda value: value.code
    if isinstance(column, cols.DateColumn | cols.TimeColumn):
        return lambda value: value.isoformat()
    return lambda value: value


# (name in the event, model attribute, how the value is recorded, personal data)
_AUDIT_CONVERSIONS = [
    (c.name, c.attribute, _audit_converter(c), c.name in MASKED_FIELDS) for c in AUDIT
]


def _masked(name: str, value):
    return (MASK if value else "") if name in MASKED_FIELDS else value


def _audit(column: cols.Column, value):
    if column.related:
        return value.code
    return column.audit(value)


class IncidentWriter:
    """Buffered writes of one import; see the module docstring."""

    def __init__(
        self,
        institution: Institution,
        *,
        actor,
        version: TaxonomyVersion,
        present: set[str],
        report: ImportReport,
    ):
        self.institution = institution
        self.actor = actor
        self.version = version
        # The fields the file has: a column it lacks leaves an existing incident's value.
        self.present = present
        self.report = report
        self.to_create: list[ImportRow] = []
        self.to_update: list[tuple[ImportRow, int]] = []
        self.created_locations: dict[tuple[str, str], Location] = {}

    def create(self, row: ImportRow) -> None:
        self.to_create.append(row)

    def update(self, row: ImportRow, pk: int) -> None:
        self.to_update.append((row, pk))

    def clear(self) -> None:
        self.to_create.clear()
        self.to_update.clear()

    def flush(self, batch: int) -> None:
        """Write the buffers once they hold ``batch`` rows (0: whatever they hold)."""
        if self.to_create and len(self.to_create) >= batch:
            self._write_created()
        if self.to_update and len(self.to_update) >= batch:
            self._write_updated()

    def _location(self, value) -> Location:
        if isinstance(value, Location):
            return value
        code, name = value
        location = self.created_locations.get((code, name))
        if location is None:
            location = Location.objects.create(institution=self.institution, code=code, name=name)
            self.created_locations[(code, name)] = location
        return location

    def _changes(self, values: dict) -> dict:
        # As register_incident(): the fields that were set; personal data only as ***.
        changes = {}
        for name, attribute, convert, masked in _AUDIT_CONVERSIONS:
            value = values.get(attribute)  # an import sets no reporter note
            if value == "" or value is None:
                continue
            changes[name] = [None, MASK if masked else convert(value)]
        return changes

    def _write_created(self) -> None:
        now = timezone.now()
        rows = self.to_create
        for row in rows:
            row.values["location"] = self._location(row.values["location"])
        years = {school_year_of(row.values["occurred_on"]) for row in rows}
        if connection.vendor == "postgresql":
            self._copy_created(rows, now)
        else:
            self._bulk_create(rows, now)
        self.report.school_years |= years
        self.to_create = []

    def _copy_created(self, rows: list[ImportRow], now) -> None:
        """PostgreSQL: the batch as two COPY streams in text format, written by hand (one
        string per table instead of a Python call per value: most of the import's write
        time otherwise)."""
        ids = reserve_ids(Incident, len(rows))
        actor = str(self.actor.pk) if self.actor is not None else NULL
        stamp = now.isoformat()
        # The columns that are the same for every row of this import.
        fixed_head = f"{self.institution.pk}\t"
        fixed_type = f"\t{self.version.pk}\t"
        # ... registered_by, created_at, updated_at, anonymised_at, reporter_note ("").
        fixed_tail = f"\t{actor}\t{stamp}\t{stamp}\t{NULL}\t\n"
        event_tail = f"\t{stamp}\n"
        event_head = f"\t{actor}\t{EventAction.IMPORTED.value}\t"
        incidents, events = [], []
        for pk, row in zip(ids, rows, strict=True):
            v = row.values
            day = v["occurred_on"]
            at = v["occurred_at"]
            incidents.append(
                f"{pk}\t{fixed_head}{v['location'].pk}\t{v['incident_type'].pk}{fixed_type}"
                f"{day.isoformat()}\t{at.isoformat() if at is not None else NULL}\t"
                f"{school_year_of(day)}\t{v['place']}\t{v['victim_role']}\t"
                f"{v['perpetrator_role']}\t{v['injury']}\t{'t' if v['police_involved'] else 'f'}\t"
                f"{copy_field(v['measures'])}\t{copy_field(v['description'])}\t"
                f"{Status.OPEN.value}\t{copy_field(v['external_id'])}{fixed_tail}"
            )
            changes = json.dumps(self._changes(v), ensure_ascii=False)
            events.append(f"{pk}{event_head}{copy_field(changes)}{event_tail}")
        copy_text(Incident, INCIDENT_COLUMNS, "".join(incidents))
        copy_text(IncidentEvent, EVENT_COLUMNS, "".join(events))

    def _bulk_create(self, rows: list[ImportRow], now) -> None:
        incidents = [
            Incident(
                institution_id=self.institution.pk,
                taxonomy_version=self.version,
                school_year=school_year_of(row.values["occurred_on"]),
                registered_by=self.actor,
                **{c.attribute: row.values[c.attribute] for c in cols.STANDARD if c.importable},
            )
            for row in rows
        ]
        Incident.objects.bulk_create(incidents)
        IncidentEvent.objects.bulk_create(
            IncidentEvent(
                incident=incident,
                actor=self.actor,
                action=EventAction.IMPORTED,
                changes=self._changes(row.values),
                at=now,
            )
            for incident, row in zip(incidents, rows, strict=True)
        )

    def _write_updated(self) -> None:
        now = timezone.now()
        existing = Incident.objects.select_related("location", "incident_type").in_bulk(
            [pk for _row, pk in self.to_update]
        )
        changed, events = [], []
        for row, pk in self.to_update:
            incident = existing[pk]
            before = cols.audit_snapshot(incident, AUDIT)
            self.report.school_years.add(incident.school_year)
            values = row.values
            incident.location = self._location(values["location"])
            incident.incident_type = values["incident_type"]
            incident.occurred_on = values["occurred_on"]
            incident.school_year = school_year_of(values["occurred_on"])
            # Only what the file has: a column it lacks leaves the incident's value alone.
            for name in self.present:
                if name not in ("location", "incident_type", "occurred_on", "occurred_at"):
                    setattr(incident, name, values[name])
            if row.has_time:
                incident.occurred_at = values["occurred_at"]
            incident.updated_at = now
            after = cols.audit_snapshot(incident, AUDIT)
            diff = {
                name: [_masked(name, before[name]), _masked(name, after[name])]
                for name in before
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
        Incident.objects.bulk_update(changed, UPDATED_FIELDS)
        IncidentEvent.objects.bulk_create(events)
        self.to_update = []
