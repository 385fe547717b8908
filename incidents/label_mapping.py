"""Label mappings: how an institution's own labels (``Agressie > Fysiek``) map onto taxonomy
types, for legacy imports.

A mapping is stored per institution (:class:`~incidents.models.LabelMapping`, edited on the
import pages) and can be given as a file ``source_label,incident_type`` (CSV or XLSX; the
type as code or Dutch name) with an import, which stores it when the import succeeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

from miv.csvfiles import label_key, unescape_formula
from miv.importreport import ErrorList, TableFileError
from miv.imports import open_table
from taxonomy.models import IncidentType

from .columns import short
from .models import Institution, LabelMapping


def first_of(index: dict[str, int], names: Iterable[str]) -> int | None:
    """The position of the first of ``names`` in a header index."""
    for name in names:
        if name in index:
            return index[name]
    return None


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
        with open_table(source, name=name) as csv_file:
            index = csv_file.index()
            label_col = first_of(index, ["sourcelabel", "label", "bronlabel", "eigenlabel"])
            type_col = first_of(index, ["incidenttype", "type", "typeincident", "code"])
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
                        % {"value": short(type_value)},
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
                        % {"label": short(label), "line": previous.line},
                    )
                    continue
                entries[key] = MappingEntry(label, incident_type, line)
    except TableFileError as exc:
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
