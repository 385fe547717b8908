"""Writing many rows at once: binary ``COPY`` on PostgreSQL, one ``executemany`` elsewhere.

``bulk_create`` builds a model object per row and an ``INSERT`` with a parameter per value;
for an import of 100,000 incidents with their audit events that is most of the time. Here the
caller gives plain tuples in the order of ``columns`` (database attribute names: ``location_id``)
and, on PostgreSQL, psycopg streams them in its binary format. Primary keys the caller needs
(to write related rows in the same run) are taken from the table's sequence first, with
:func:`reserve_ids`.

:func:`copy_text` is the fastest path when the caller can write PostgreSQL's text format
itself (:func:`copy_field`): one string per batch instead of a Python call per value.

No model logic runs: no ``save()``, no signals, no ``auto_now``; the caller fills every column
it names and has validated the values (constraints and foreign keys are still checked by the
database).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Model

# PostgreSQL type names for psycopg's binary COPY, by Django's column type.
_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "double precision": "float8",
    "boolean": "bool",
    "date": "date",
    "time": "time",
    "timestamp with time zone": "timestamptz",
    "jsonb": "jsonb",
    "text": "text",
    "uuid": "uuid",
}


def _binary_types(model: type[Model], columns: Sequence[str]) -> list[str]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    types = []
    for column in columns:
        db_type = fields[column].db_type(connection) or ""
        if db_type.startswith("varchar"):
            types.append("text")
        elif db_type.startswith(("bigint", "integer", "smallint")):
            types.append(_BINARY_TYPES[db_type.split()[0]])
        else:
            types.append(_BINARY_TYPES[db_type])
    return types


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model`` from its sequence (PostgreSQL only)."""
    if count == 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``model``'s table. JSON
    columns take Python values (dicts, lists)."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    json_positions = [
        i for i, c in enumerate(columns) if fields[c].get_internal_type() == "JSONField"
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        with connection.cursor() as cursor:
            sql = f"COPY {table} ({quoted}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(_binary_types(model, columns))
                if json_positions:
                    for row in rows:
                        row = list(row)
                        for i in json_positions:
                            row[i] = Jsonb(row[i])
                        copy.write_row(row)
                else:
                    for row in rows:
                        copy.write_row(row)
        return
    # Other databases: adapt what the driver cannot take as it is.
    datetime_positions = [
        i for i, c in enumerate(columns) if fields[c].get_internal_type() == "DateTimeField"
    ]
    adapted = []
    for row in rows:
        row = list(row)
        for i in json_positions:
            row[i] = json.dumps(row[i])
        for i in datetime_positions:
            if isinstance(row[i], datetime):
                row[i] = connection.ops.adapt_datetimefield_value(row[i])
        adapted.append(row)
    if not adapted:
        return
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", adapted)


# PostgreSQL COPY text format: backslash, tab, newline and carriage return are escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_field(value: str) -> str:
    """A text value as a field of ``COPY ... FROM STDIN`` in text format."""
    return value.translate(_COPY_ESCAPES)


def copy_text(model: type[Model], columns: Sequence[str], lines: str) -> None:
    """Insert ``lines`` (PostgreSQL's COPY text format: tab-separated fields, ``\\N`` for
    NULL, one row per line, fields escaped with :func:`copy_field`) into ``model``'s table.
    PostgreSQL only."""
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            copy.write(lines)
