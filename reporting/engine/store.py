"""Writing a figure set (PostgreSQL binary COPY) and making it current; removing
unfinished and replaced sets.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from ..choices import FigureSetStatus
from ..models import (
    FigureSet,
    FigureYear,
)
from . import timing

logger = logging.getLogger(__name__)

# Columns written as JSON text (PostgreSQL jsonb).
JSON_COLUMNS = {"excluded", "flagged"}


# Binary COPY needs the PostgreSQL type of every column.
_PG_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "double precision": "float8",
    "timestamp with time zone": "timestamptz",
    "jsonb": "jsonb",
}


def _pg_types(model: type[Model], columns: tuple[str, ...]) -> list[str]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    types = []
    for column in columns:
        db_type = fields[column].db_type(connection)
        types.append("text" if db_type.startswith("varchar") else _PG_BINARY_TYPES[db_type])
    return types


def write_rows(model: type[Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows fast. PostgreSQL: binary ``COPY`` (several times faster than text COPY,
    and the write path is most of the job's own time); elsewhere one ``executemany``."""
    if not rows:
        return
    json_positions = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        with connection.cursor() as cursor:
            sql = f"COPY {table} ({quoted}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(_pg_types(model, columns))
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
    # Other databases: adapt what the driver cannot take as is (JSON, aware datetimes).
    date_positions = [i for i, c in enumerate(columns) if c == "computed_at"]
    adapted = []
    for row in rows:
        row = list(row)
        for i in json_positions:
            row[i] = json.dumps(row[i])
        for i in date_positions:
            row[i] = connection.ops.adapt_datetimefield_value(row[i])
        adapted.append(row)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", adapted)


def make_current(figure_set: FigureSet) -> FigureSet:
    """Make ``figure_set`` the current set of its year, in one short transaction. Returns
    the set that is current afterwards."""
    school_year = figure_set.school_year
    with transaction.atomic():
        year = FigureYear.objects.select_for_update().get(school_year=school_year)
        current = (
            FigureSet.objects.select_for_update()
            .filter(school_year=school_year, status=FigureSetStatus.CURRENT)
            .first()
        )
        now = timezone.now()
        if current is not None and current.inputs_seq > figure_set.inputs_seq:
            # Only possible without the advisory lock (SQLite with several processes): a
            # run that saw newer inputs published first. Never replace newer with older.
            FigureSet.objects.filter(pk=figure_set.pk).update(
                status=FigureSetStatus.SUPERSEDED, superseded_at=now
            )
            return current
        if current is not None:
            FigureSet.objects.filter(pk=current.pk).update(
                status=FigureSetStatus.SUPERSEDED, superseded_at=now
            )
        FigureSet.objects.filter(pk=figure_set.pk).update(status=FigureSetStatus.CURRENT)
        year.computed_seq = max(year.computed_seq, figure_set.inputs_seq)
        year.computed_at = now
        if year.computed_seq >= year.change_seq:
            year.stale_since = None
        year.save(update_fields=["computed_seq", "computed_at", "stale_since"])
    figure_set.refresh_from_db()
    return figure_set


def discard_unfinished(school_year: str, *, exclusive: bool) -> None:
    """Remove sets a crashed run left ``building``. Under the advisory lock every other
    building set of the year is dead; without it only the ones older than a task may run."""
    unfinished = FigureSet.objects.filter(school_year=school_year, status=FigureSetStatus.BUILDING)
    if not exclusive:
        cutoff = timezone.now() - timedelta(seconds=timing.time_limit_seconds())
        unfinished = unfinished.filter(created_at__lt=cutoff)
    unfinished.delete()


def forget_unfinished(figure_set_id: int) -> None:
    try:
        FigureSet.objects.filter(pk=figure_set_id, status=FigureSetStatus.BUILDING).delete()
    except (OperationalError, InterfaceError):
        logger.warning("could not remove unfinished figure set %s", figure_set_id)


def delete_superseded(school_year: str | None = None) -> int:
    """Delete sets replaced longer ago than the grace period."""
    cutoff = timezone.now() - timedelta(seconds=timing.superseded_grace_seconds())
    old = FigureSet.objects.filter(status=FigureSetStatus.SUPERSEDED, superseded_at__lt=cutoff)
    if school_year:
        old = old.filter(school_year=school_year)
    deleted, _ = old.delete()
    return deleted
