"""Recognising what an incident import finds already there, so that importing a file again
changes nothing.

Rows with an ``external_id`` are matched on it (and compared by fingerprint to tell an
unchanged incident from a changed one). Rows without one are matched on all their fields, as
a multiset: two genuinely identical incidents in one file stay two. A fingerprint is a hash of
the fields, so no existing description is held in memory.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from . import columns as cols
from .import_writes import ImportRow
from .models import Incident, Institution

IMPORTED = tuple(c for c in cols.STANDARD if c.importable)
# What identifies an incident's content (model attribute names). Location, type and date are
# in every file; the others count only when the file has their column, so that re-importing
# a legacy export that lacks, say, the victim's role neither duplicates nor overwrites an
# incident whose role a coordinator has filled in since.
KEY_FIELDS = [c.attname for c in IMPORTED if c is not cols.EXTERNAL_ID]
ALWAYS = {cols.LOCATION.attname, cols.INCIDENT_TYPE.attname, cols.OCCURRED_ON.attname}


def _digest(values: tuple) -> bytes:
    """A fingerprint of an incident's fields. Both sides give the same Python types (ints,
    dates, times, None, str), so their ``repr`` compares them."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).digest()


class ExistingIncidents:
    """What the institution already has: incidents by external id (with fingerprints to
    tell unchanged from changed) and the fingerprints of those without one.

    Each incident gets two fingerprints over the fields the file has (``present``: model
    attributes): with and without the time (a row carries a time when the file has a time
    column or its date has one).
    """

    def __init__(self, institution: Institution, present: set[str]):
        attnames = {c.attname for c in IMPORTED if c.attribute in present}
        self.key_without = [
            n for n in KEY_FIELDS if (n in ALWAYS or n in attnames) and n != "occurred_at"
        ]
        self.key_with = [*self.key_without, "occurred_at"]
        # external id -> (pk, status, fingerprint with time, without, location, type)
        self.by_external: dict[str, tuple[int, str, bytes, bytes, int, int]] = {}
        self.with_time: Counter[bytes] = Counter()
        self.without_time: Counter[bytes] = Counter()
        rows = (
            Incident.objects.filter(institution=institution)
            .order_by()
            .values_list("pk", "external_id", "status", *KEY_FIELDS)
            .iterator(chunk_size=5000)
        )
        for pk, external_id, status, *values in rows:
            by_name = dict(zip(KEY_FIELDS, values, strict=True))
            with_time = _digest(tuple(by_name[n] for n in self.key_with))
            without_time = _digest(tuple(by_name[n] for n in self.key_without))
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
                self.with_time[with_time] += 1
                self.without_time[without_time] += 1

    def fingerprint(self, row: ImportRow) -> bytes:
        return _digest(row.key(self.key_with if row.has_time else self.key_without))
