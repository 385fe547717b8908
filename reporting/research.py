"""The researchers' side: normalised counts per institution with disclosure control, and
the audit log of their requests.

Decisions (issue 6):

* **Fixed combinations only.** ``group`` is one of :func:`reporting.protection.research_groups`
  (``total``, ``misdragingen``, ``ongevallen`` and the four categories) and ``victim_role``
  one of ``all``, ``student``, ``staff``: one table per school year, protected as a whole,
  so no two queries overlap in a way that could be subtracted. Subcategories and types are
  never offered per institution.
* **Access.** Researchers (and administrators) with an API token; the browser session is
  accepted only for the dashboards (``/figures/``). Requests are throttled (the ``research``
  scope of ``DEFAULT_THROTTLE_RATES``) and every request is logged in
  :class:`ResearchRequestLog`: who, which endpoint, the query parameters, when, and the
  status code, never the figures returned. When the log cannot be written, the figures are
  not sent (503): no access without a trace.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import DatabaseError

from incidents.models import Institution
from miv.csvfiles import escape_formula

from .access import figure_viewer, institution_rows, protect_rows
from .models import InstitutionRate, ResearchRequestLog
from .queries import Selection, current_set_id, period

# Size classes of table 5.1 of the report, by the year's student count.
SMALL, MEDIUM, LARGE = "<4000", "4000-15000", ">15000"

RESEARCH_COLUMNS = (
    "institution",
    "kind",
    "region",
    "size_class",
    "urbanity",
    "school_year",
    "running",
    "through",
    "group",
    "victim_role",
    "count",
    "students",
    "rate_per_1000",
    "ci_low",
    "ci_high",
    "confidence_level",
    "suppressed",
    "taxonomy_version",
)

# Bounds on what one log entry stores of a query (a request with a megabyte of parameters
# must not become a megabyte of log).
MAX_LOGGED_PARAMETERS = 20
MAX_LOGGED_VALUES = 5
MAX_LOGGED_LENGTH = 200


def size_class(students: int) -> str:
    """< 4,000 / 4,000-15,000 / > 15,000 students (table 5.1)."""
    if students < 4000:
        return SMALL
    if students <= 15000:
        return MEDIUM
    return LARGE


def research_rates(user, selection: Selection) -> list[dict[str, Any]]:
    """One fixed combination for all institutions, disclosure control applied, ordered by
    the institution's label (never by rate: the position of a withheld row would hint at
    its value)."""
    viewer = figure_viewer(user)
    set_id = current_set_id(selection.school_year)
    if viewer is None or set_id is None:
        return []
    rates = institution_rows(
        user,
        InstitutionRate.objects.filter(
            figure_set_id=set_id, group=selection.group.code, victim_role=selection.victim_role
        ),
    ).select_related("institution", "figure_set")
    covered = period(selection.school_year)
    rows = []
    for rate in rates:
        institution: Institution = rate.institution
        rows.append(
            {
                "institution_id": rate.institution_id,
                "institution": viewer.label(
                    rate.institution_id, institution.brin, institution.pseudonym
                ),
                "kind": institution.kind,
                "region": institution.region or None,
                "size_class": size_class(rate.students),
                "urbanity": institution.urbanity,
                "school_year": rate.school_year,
                "group": rate.group,
                "victim_role": rate.victim_role,
                "count": rate.count,
                "students": rate.students,
                "rate_per_1000": rate.rate,
                "ci_low": rate.ci_low,
                "ci_high": rate.ci_high,
                "confidence_level": rate.figure_set.confidence_level,
                "taxonomy_version": rate.taxonomy_version,
                **covered,
            }
        )
    rows = protect_rows(user, set_id, rows)
    if not viewer.named:
        # Pseudonyms hide only without the characteristics that name the institution
        # through the public DUO data (protect_rows coarsened the figures); a size class
        # holding one institution would name it too.
        for row in rows:
            row.update(kind=None, region=None, urbanity=None, size_class=None)
    rows.sort(key=lambda row: row["institution"] or "")
    return rows


def csv_lines(rows: Iterable[dict[str, Any]], columns: Iterable[str]) -> Iterator[str]:
    """CSV text of ``rows`` (UTF-8, comma, CRLF): empty cells for nulls, ``true``/``false``
    for booleans. The values are codes and numbers, never free text."""
    columns = list(columns)

    class _Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_cell(row.get(name)) for name in columns])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return escape_formula(str(value))


def _loggable(value) -> str:
    # Whatever a client sends must be storable: PostgreSQL's jsonb refuses NUL characters.
    return str(value)[:MAX_LOGGED_LENGTH].replace("\x00", "\ufffd")


def _logged_query(params) -> dict[str, list[str]]:
    logged = {}
    for name in list(params)[:MAX_LOGGED_PARAMETERS]:
        values = params.getlist(name)[:MAX_LOGGED_VALUES]
        logged[_loggable(name)] = [_loggable(v) for v in values]
    return logged


def record_request(
    *, user, endpoint: str, method: str, params, authentication: str, status_code: int
) -> bool:
    """Write one audit log entry. Returns False when the database refused it (the caller
    then withholds the answer)."""
    try:
        ResearchRequestLog.objects.create(
            user=user if user is not None and user.is_authenticated else None,
            username=(user.get_username() if user is not None else "")[:150],
            endpoint=endpoint[:100],
            method=method[:10],
            query=_logged_query(params),
            authentication=authentication[:20],
            status_code=status_code,
        )
    except DatabaseError:
        return False
    return True
