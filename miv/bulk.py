"""Writing many rows at once on PostgreSQL: ``COPY ... FROM STDIN``.

``bulk_create`` builds a model object per row and an ``INSERT`` with a parameter per value;
for an import of 100,000 incidents with their audit events that is most of the time. Here the
caller writes PostgreSQL's COPY text format itself (fields escaped with :func:`copy_field`),
one string per batch, and :func:`copy_text` streams it. Primary keys the caller needs (to
write related rows in the same run) are taken from the table's sequence first, with
:func:`reserve_ids`.

No model logic runs: no ``save()``, no signals, no ``auto_now``; the caller fills every column
it names and has validated the values (constraints and foreign keys are still checked by the
database).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


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
