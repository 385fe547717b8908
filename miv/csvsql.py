"""CSV lines written by the database: the rules of Python's ``csv.writer`` and of
:func:`miv.csvfiles.escape_formula` as Django expressions, for exports too large to format
row by row in Python.

Why: the incident list's CSV export formatted every cell in Python (fetch the values, format
dates and times, escape formulas, quote for CSV), about five times what PostgreSQL's own
``COPY ... TO STDOUT`` takes for the same rows (``benchmarks/list_export.py``). With the
whole line built in the query, Python only joins the lines it fetches. ``COPY`` itself
cannot be used: it ends lines with ``\\n`` where MIV's files (and Excel) use ``\\r\\n``, and it
quotes empty text. No library writes CSV in SQL, so the rules are here, next to each other:

* :func:`escaped_formula` is :func:`miv.csvfiles.escape_formula` (the same regular
  expression, run by the database: ``~`` in PostgreSQL, Python's ``re`` in SQLite).
* :func:`quoted` is ``csv.writer``'s ``QUOTE_MINIMAL`` with ``lineterminator="\\r\\n"``: a
  cell with a comma, a double quote, ``\\r`` or ``\\n`` is put in double quotes, its quotes
  doubled; every other cell is written as it is.
* :class:`CsvLine` joins cells with commas and ends the line with ``\\r\\n``; NULL is an
  empty cell, as ``csv.writer`` writes ``None``.
* :class:`IsoDate` and :class:`TimeText` write dates and times as
  :meth:`datetime.date.isoformat` and :func:`miv.cellvalues.time_text` do.

Limits: the expressions take plain column references (``F("description")``), which their
SQL repeats; works on PostgreSQL and SQLite, the two databases MIV runs on. That the result
is byte for byte what the Python writer writes is tested on both with the cells most likely
to differ (``tests/incidents/test_export_lines.py``).
"""

from __future__ import annotations

from django.db.models import Case, CharField, Expression, F, Func, TextField, Value, When
from django.db.models.functions import Concat, Replace
from django.db.models.lookups import Regex

from miv.csvfiles import NEEDS_ESCAPE_PATTERN

# What makes csv.writer quote a cell (QUOTE_MINIMAL, delimiter ",", quotechar '"',
# lineterminator "\r\n"): any of these characters.
_NEEDS_QUOTES = '[",\r\n]'


def escaped_formula(text: Expression) -> Expression:
    """``text`` with ``'`` in front when a spreadsheet would run it as a formula."""
    return Case(
        When(
            Regex(text, Value(NEEDS_ESCAPE_PATTERN)),
            then=Concat(Value("'"), text, output_field=TextField()),
        ),
        default=text,
        output_field=TextField(),
    )


def quoted(text: Expression, written: Expression | None = None) -> Expression:
    """``written`` (default: ``text``) as a CSV cell: in double quotes (its own doubled) when
    ``text`` needs them. Pass the unescaped text as ``text`` and
    ``escaped_formula(text)`` as ``written``: escaping only adds a leading ``'``, which never
    changes whether a cell needs quotes, and the database tests each cell once."""
    written = text if written is None else written
    return Case(
        When(
            Regex(text, Value(_NEEDS_QUOTES)),
            then=Concat(
                Value('"'),
                Replace(written, Value('"'), Value('""'), output_field=TextField()),
                Value('"'),
                output_field=TextField(),
            ),
        ),
        default=written,
        output_field=TextField(),
    )


class CsvLine(Func):
    """The cells joined with commas, ending in ``\\r\\n``; a NULL cell is empty."""

    template = "(%(expressions)s || '\r\n')"
    arg_joiner = " || ',' || "
    output_field = TextField()

    def __init__(self, *cells: Expression) -> None:
        super().__init__(
            *(
                Func(cell, Value(""), function="COALESCE", output_field=TextField())
                for cell in cells
            )
        )


class IsoDate(Func):
    """A date as ``2023-03-14`` (SQLite stores dates as that text)."""

    output_field = CharField()
    template = "to_char(%(expressions)s, 'YYYY-MM-DD')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="%(expressions)s", **extra_context)


class TimeText(Func):
    """A time as :func:`miv.cellvalues.time_text` writes it: ``10:15``, seconds only when set
    (``23:59:30``), microseconds only when set (``23:59:30.500000``). ``expression`` must be
    a plain column: the SQL names it several times."""

    output_field = CharField()
    template = (
        "CASE WHEN %(expressions)s IS NULL THEN NULL"
        " WHEN to_char(%(expressions)s, 'US') <> '000000'"
        " THEN to_char(%(expressions)s, 'HH24:MI:SS.US')"
        " WHEN to_char(%(expressions)s, 'SS') <> '00' THEN to_char(%(expressions)s, 'HH24:MI:SS')"
        " ELSE to_char(%(expressions)s, 'HH24:MI') END"
    )

    def __init__(self, column: F) -> None:
        super().__init__(column)

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite holds the time as Django wrote it: str(time), 10:15:00 or 10:15:00.500000.
        template = (
            "CASE WHEN length(%(expressions)s) > 8 OR substr(%(expressions)s, 7, 2) <> '00'"
            " THEN %(expressions)s ELSE substr(%(expressions)s, 1, 5) END"
        )
        return super().as_sql(compiler, connection, template=template, **extra_context)
