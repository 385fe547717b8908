"""The same period of every school year for readers outside an institution (figure 5.1's
year-to-date comparison, issue 11): the sector mean of rates from 1 August up to the end of
a month, published with a year's figure set and protected like the rest of it.

Why a rule of its own
---------------------
The comparison used to be computed per request, up to any day. A reader who collects it
every day gets a cumulative daily series per year: with the published yearly counts and
the published student counts, each day's mean is an equation ``|1000/n · Σ cᵢ(d)/sᵢ − mean|
≤ 0.05`` that often has one integer solution, so it tells which institution had how many
incidents in which week, which no yearly figure does. So for outside readers:

* **Month ends only**: the mean of 1 August up to the end of August, September, …, June
  (at most eleven points a year; July's end is the whole year, already published). A
  running year gets the month ends that have passed when its set is computed.
* **One line only, total × all victims**: means of two lines of the same period could be
  subtracted (total − misdragingen = ongevallen per institution). With one line, the
  period's counts are tied to the yearly cells only by ``cᵢ(m) ≤ countᵢ`` (total × all).
* **An integer audit together with the year's table** (:func:`reporting.audit.integer_ranges`,
  the attacker of the yearly publication): the unknowns are the year's withheld cells (at
  least 1) and the institutions' counts up to each published month end, in each piece
  between two of them and after the last (at least 0), which add up to the institution's
  yearly total × all cell; the equations are the year's lines and means and the
  same-period means (rounded to :data:`reporting.audit.MEAN_DECIMALS`). Every withheld
  yearly cell that its own audit protected stays at least the protection level wide, and
  so does every same-period count from 1 to k − 1 (counts of 0 or at least k may be
  learnt, as the yearly publication publishes them). Where one does not, the later month
  end of its piece (for a yearly cell: the last shown) is withheld and the audit runs
  again.

Known limits: a coordinator's own counts are not modelled as known here (a coordinator
knows their own institution's series; the audit would need a run per institution): the
independent attacker of the tests checks each coordinator on the test sector
(``tests/reporting/test_same_period.py``);
a recomputed year replaces its month ends, as it replaces its publication
(:mod:`reporting.audit`, known limits). Administrators keep the comparison up to any day
and for any group (:mod:`reporting.dashboards.trend`).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Count

from incidents.models import Incident
from miv.schoolyear import school_year_bounds

from . import audit, groups
from .choices import VictimGroup
from .disclosure import SECTOR, Cell, Key, Line, Table
from .models import StudentCount, UnusableYear

GROUP = groups.GROUP_TOTAL
VICTIM_ROLE = VictimGroup.ALL
# August … June: the month ends before the year's own end.
MONTHS = 11


def month_end(school_year: str, index: int) -> date:
    """The last day of month ``index`` (0 = August … 10 = June) of a school year."""
    first = school_year_bounds(school_year)[0]
    year, month = first.year + (first.month - 1 + index) // 12, (first.month - 1 + index) % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def passed_months(school_year: str, today: date) -> int:
    """How many of the year's month ends (at most :data:`MONTHS`) lie before ``today``."""
    return sum(1 for index in range(MONTHS) if month_end(school_year, index) < today)


def month_rows(school_year: str) -> list[tuple[int, int, int]]:
    """``(institution_id, calendar month, count)`` of a year's counted registrations. One
    GROUP BY; the figures job takes them from its own aggregate instead
    (:func:`reporting.engine.rows.aggregate`)."""
    return list(
        Incident.objects.counted()
        .filter(school_year=school_year)
        .values_list("institution_id", "occurred_on__month")
        .annotate(n=Count("id"))
        .order_by()
    )


def monthly_counts(
    school_year: str, rows: Iterable[tuple[int, int, int]] | None = None
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """The counted registrations of a year per institution and month (August first, twelve
    months), for the institutions of the sector mean (a student count, not marked unusable),
    with their student counts. From ``rows`` of :func:`month_rows` (queried when not given)."""
    unusable = set(
        UnusableYear.objects.filter(school_year=school_year).values_list(
            "institution_id", flat=True
        )
    )
    students = {
        institution: count
        for institution, count in StudentCount.objects.filter(
            school_year=school_year, students__gt=0
        ).values_list("institution_id", "students")
        if institution not in unusable
    }
    counts = {institution: [0] * 12 for institution in students}
    for institution, month, n in month_rows(school_year) if rows is None else rows:
        if institution in counts:
            counts[institution][(month - 8) % 12] += n
    return counts, students


def mean_through(
    monthly: Mapping[int, Sequence[int]], students: Mapping[int, int], index: int
) -> float:
    """The published mean of rates from 1 August up to the end of month ``index``."""
    institutions = sorted(monthly)
    return audit.published_mean(
        (sum(monthly[i][: index + 1]) for i in institutions),
        (1 / students[i] for i in institutions),
        audit.MEAN_DECIMALS,
    )


@dataclass(frozen=True)
class Year:
    """The year's published table as the attacker holds it: its cells and lines, the
    withheld cells, those its own audit could not protect, and each institution's
    total × all cell (by institution id)."""

    table: Table
    withheld: frozenset[Key]
    exposed: frozenset[Key]
    total_cells: Mapping[int, Key]


SAME_PERIOD = "same-period"  # the prefix of the group field of this module's cells


def _cell(institution: int, name: str) -> Cell:
    return Cell(institution, f"{SAME_PERIOD}:{name}", VICTIM_ROLE)


def _model(
    monthly: Mapping[int, Sequence[int]],
    students: Mapping[int, int],
    shown: Sequence[int],
    year: Year | None,
) -> tuple[Table, frozenset[Key], dict[Key, int]]:
    """The attacker's table: per institution its count up to each shown month end, the
    pieces between them and after the last (never published), which add up to its yearly
    total × all cell, and per shown month end the sector mean. With ``year``, the year's
    table is part of it (a withheld yearly count is an unknown there); without, every
    yearly count is taken as published. Returns the table, the unknowns of this module
    and their true values."""
    values: dict[Key, int] = dict(year.table.values) if year else {}
    lines: list[Line] = list(year.table.lines) if year else []
    own: dict[Key, int] = {}
    institutions = sorted(monthly)
    for institution in institutions:
        months = monthly[institution]
        total = year.total_cells.get(institution) if year else None
        if total is None:
            total = _cell(institution, "year")
            values[total] = sum(months)
        pieces = []
        start = 0
        for end in shown:
            piece = _cell(institution, f"piece-{end}")
            own[piece] = sum(months[start : end + 1])
            pieces.append(piece)
            through = _cell(institution, f"through-{end}")
            own[through] = sum(months[: end + 1])
            lines.append(Line(through, tuple(pieces)))
            start = end + 1
        rest = _cell(institution, "rest")
        own[rest] = sum(months[start:])
        lines.append(Line(total, (*pieces, rest)))
    values |= own
    weights = tuple(1 / students[i] for i in institutions)
    for end in shown:
        sector = _cell(SECTOR, f"through-{end}")
        parts = tuple(_cell(i, f"through-{end}") for i in institutions)
        values[sector] = sum(values[p] for p in parts)
        lines.append(Line(sector, parts, weights, derived_total=True))
    never = frozenset(own) | (year.table.never_published if year else frozenset())
    return Table(values, tuple(lines), never_published=never), frozenset(own), own


def secure_month_ends(
    monthly: Mapping[int, Sequence[int]],
    students: Mapping[int, int],
    months: int,
    k: int,
    level: int,
    year: Year | None = None,
    budget_seconds: float | None = None,
) -> dict[int, float]:
    """The month ends (index → mean) of the first ``months`` that may be published: every
    count of 1 … k − 1 of an institution up to a published month end, between two of them
    or after the last, and every withheld cell of ``year`` (those its own audit could
    protect), keeps a feasible integer range at least ``level`` wide. None when the audit
    takes longer than ``budget_seconds`` (fail safe: what was not shown safe is not
    published)."""
    if not monthly:
        return {}  # no institution in the mean: nothing to publish
    started = time.monotonic()
    shown = list(range(months))
    withheld = (year.withheld - year.exposed) if year else frozenset()
    while shown:
        if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
            return {}
        table, own, values = _model(monthly, students, shown, year)
        small = [key for key in own if 0 < values[key] < k]
        ranges = audit.integer_ranges(
            table,
            year.withheld if year else (),
            unpublished=small,
            only=[*small, *withheld],
            settled=lambda key, lo, hi: hi - lo >= level,
        ).ranges
        narrow = sorted((key for key, (lo, hi) in ranges.items() if hi - lo < level), key=str)
        if not narrow:
            break
        shown.remove(_month_end_of(narrow[0], shown))
    return {index: mean_through(monthly, students, index) for index in shown}


def _month_end_of(key: Key, shown: Sequence[int]) -> int:
    """The month end to withhold for a narrow cell: its own, or the one its piece ends at;
    the last shown for the piece after it or for a narrowed yearly cell."""
    name = key.group if isinstance(key, Cell) else ""
    if not name.startswith(f"{SAME_PERIOD}:") or name.endswith(":rest"):
        return shown[-1]
    return int(name.rsplit("-", 1)[1])


def publication(
    school_year: str,
    today: date,
    year: Year | None,
    k: int,
    level: int,
    *,
    publish: bool = True,
    budget_seconds: float | None = None,
    counts_by_month: Iterable[tuple[int, int, int]] | None = None,
) -> dict:
    """What a year's publication says about its same period: the month ends considered
    (calendar month numbers) and the means published (by month number); none without
    ``publish`` (a year whose audit did not finish publishes nothing). ``counts_by_month``: the
    figures job's counts per institution and month (:func:`monthly_counts`)."""
    months = passed_months(school_year, today)
    monthly, students = monthly_counts(school_year, counts_by_month)
    published = (
        secure_month_ends(monthly, students, months, k, level, year, budget_seconds)
        if months and publish
        else {}
    )
    number = lambda index: str(month_end(school_year, index).month)  # noqa: E731
    return {
        "group": GROUP,
        "victim_role": VICTIM_ROLE,
        "institutions": len(monthly),
        "months": [number(index) for index in range(months)],
        "means": {number(index): mean for index, mean in published.items()},
    }
