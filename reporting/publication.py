"""The publication of a figure set: what every reader outside an institution may see
(issue 11), computed once with the set and stored with it.

Researchers, other institutions' coordinators, dashboards, CSV files and the API all get
exactly this publication; a coordinator additionally sees the exact figures of their own
institution(s) (:mod:`reporting.access`). Nothing about other institutions is computed on
the fly for a reader: the same set gives every reader the same outside figures.

What is decided here
--------------------
* **Cells** (:func:`reporting.disclosure.figures_table`): institution × fixed group
  (total, misdragingen, ongevallen and the categories) × victim role (all, student,
  staff), and the pooled sector cells.
* **Suppression** (:func:`reporting.audit.secure`): counts 0 < n < k withheld; secondary
  suppressions by the line rule, the exact linear audit, the slack and three-contributor
  rules and the integer audit (``scipy.optimize.milp``), until every withheld cell's
  feasible integer range is at least ``MIV_DISCLOSURE_PROTECTION`` wide. Secondary
  suppression was chosen over controlled rounding and the cell-key method: MIV's readers
  compare institutions and redo calculations, which exact published counts allow and
  perturbed counts do not; the price is that more cells are withheld (the share is
  stored in ``audit``).
* **Non-linear statistics** (t-interval of the mean, median, minimum, maximum) are
  published only on sector lines without withheld institution cells: the audit models
  linear relations only.
* **The sector mean** is published rounded to :data:`reporting.audit.MEAN_DECIMALS`
  decimals, the precision the audit assumes.
* **The same period** (figure 5.1's comparison of a running year): the sector mean up to
  month ends, one line, audited together with the year's table
  (:mod:`reporting.same_period`).
* **Fail safe**: each audit has ``MIV_DISCLOSURE_AUDIT_SECONDS`` (default 15 minutes; a
  synthetic sector of 60 institutions takes about 4 on one core). A table audit that runs
  out, or leaves a cell too narrow with no candidate to suppress, publishes no count and
  no sector figure of the year to outside readers (``audit.withheld_all``; coordinators
  keep their own institution's) and logs an error; a same-period audit that runs out
  publishes no month end. What was not shown safe is not published.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from miv import clock

from . import audit, disclosure, same_period
from .models import FigureSet, InstitutionRate

logger = logging.getLogger(__name__)

VERSION = 1
PUBLISHED_ROLES = disclosure.PUBLISHED_ROLES
# Statistics of a sector line that are not linear in the counts.
NONLINEAR_STATISTICS = ("mean_ci_low", "mean_ci_high", "median", "min", "max")


def disclosure_k() -> int:
    return max(1, int(getattr(settings, "MIV_DISCLOSURE_K", 5)))


def protection_level() -> int:
    """How wide (at least) the feasible range of every withheld cell stays."""
    return max(1, int(getattr(settings, "MIV_DISCLOSURE_PROTECTION", 2)))


def audit_seconds() -> float:
    """The time budget of each of a publication's two audits (the year's table, the
    same period); what was not shown safe in time is not published."""
    return float(getattr(settings, "MIV_DISCLOSURE_AUDIT_SECONDS", 900))


def line_key(group: str, role: str) -> str:
    return f"{group}|{role}"


def _table(
    figure_set_id: int, groups: tuple[str, ...], misconduct: str
) -> tuple[disclosure.Table, dict[int, int], list[int]]:
    """The table of a set with institutions numbered 1..n, their student counts, and the
    ids in that order."""
    rows = InstitutionRate.objects.filter(
        figure_set_id=figure_set_id, group__in=groups, victim_role__in=PUBLISHED_ROLES
    ).values_list("institution_id", "group", "victim_role", "count", "students")
    counts: dict[tuple[int, str, str], int] = {}
    students: dict[int, int] = {}
    for institution_id, group, role, count, denominator in rows.iterator(chunk_size=5000):
        counts[(institution_id, group, role)] = count
        students[institution_id] = denominator
    categories = [g for g in groups if g not in ("total", "misdragingen", "ongevallen")]
    lines = disclosure.miv_group_lines(categories, misconduct)
    # Institutions as 1..n in the order of their ids: the same counts give the same table
    # (and the same remembered outcome, ``_SECURED``) whatever the ids are.
    ids = sorted(students)
    position = {institution_id: n for n, institution_id in enumerate(ids, start=1)}
    table = disclosure.figures_table(
        {(position[i], g, r): c for (i, g, r), c in counts.items()},
        {position[i]: s for i, s in students.items()},
        lines,
    )
    return table, {position[i]: s for i, s in students.items()}, ids


# The last outcomes of :func:`audit.secure` by their inputs: a year recomputed without
# changes (the nightly run, a second seed of the demo, the tests' worlds) is not audited
# again. The outcome depends on nothing but these inputs.
_SECURED: OrderedDict[str, audit.Secured] = OrderedDict()
_SECURED_KEEP = 32


def _secure(
    table: disclosure.Table,
    students: dict[int, int],
    groups: tuple[str, ...],
    misconduct: str,
    k: int,
    level: int,
) -> audit.Secured:
    inputs = repr(
        (
            sorted(table.values.items()),
            sorted(students.items()),
            groups,
            misconduct,
            k,
            level,
            audit.MEAN_DECIMALS,
        )
    )
    key = hashlib.sha256(inputs.encode()).hexdigest()
    if key in _SECURED:
        _SECURED.move_to_end(key)
        return _SECURED[key]
    # Each coordinator knows every cell of their own institution.
    readers: dict[int, list[disclosure.Key]] = {}
    for cell in table.values:
        if cell.institution != disclosure.SECTOR:
            readers.setdefault(cell.institution, []).append(cell)
    secured = audit.secure(
        table,
        k,
        level,
        cost=disclosure.figures_cost,
        contributor=lambda cell: cell.institution,
        readers=readers,
        budget_seconds=audit_seconds(),
    )
    if secured.timed_out:
        return secured  # an outcome of the time budget, not of the inputs alone
    _SECURED[key] = secured
    while len(_SECURED) > _SECURED_KEEP:
        _SECURED.popitem(last=False)
    return secured


def compute(
    figure_set_id: int,
    groups: tuple[str, ...],
    misconduct: str,
    counts_by_month: Iterable[tuple[int, int, int]] | None = None,
) -> dict[str, Any]:
    """The publication of a set (not stored): the withheld cells, the withheld
    statistics per sector line, and what the audit did. ``counts_by_month``: the figures job's
    counts per institution and month (:func:`reporting.same_period.month_rows`); queried
    when not given."""
    k, level = disclosure_k(), protection_level()
    table, students, ids = _table(figure_set_id, groups, misconduct)
    started = time.monotonic()
    secured = _secure(table, students, groups, misconduct, k, level)
    seconds = time.monotonic() - started
    withheld = secured.protection.suppressed
    published_cells = [key for key in table.values if key not in table.never_published]
    unfinished = secured.timed_out or bool(secured.exposed)
    if unfinished:
        # Fail safe: an audit that did not finish, or left a cell narrower than the
        # protection level, has not shown the publication safe. Outside readers then get
        # no count and no sector figure of the year (coordinators keep their own
        # institution's); the next computation, with more time, publishes it.
        logger.error(
            "Publication of figure set %s: the audit %s (%d cells narrower than the "
            "protection level with no candidate left); every cell is withheld. Raise "
            "MIV_DISCLOSURE_AUDIT_SECONDS and compute the year again.",
            figure_set_id,
            "ran out of time" if secured.timed_out else "finished",
            len(secured.exposed),
        )
        withheld = frozenset(published_cells)
    statistics: dict[str, list[str]] = {}
    for cell in withheld:
        if cell.institution != disclosure.SECTOR:
            statistics[line_key(cell.group, cell.role)] = list(NONLINEAR_STATISTICS)
    school_year = FigureSet.objects.values_list("school_year", flat=True).get(pk=figure_set_id)
    year = same_period.Year(
        table,
        withheld,
        frozenset(secured.exposed),
        {
            institution_id: disclosure.Cell(n, same_period.GROUP, same_period.VICTIM_ROLE)
            for n, institution_id in enumerate(ids, start=1)
        },
    )
    return {
        "version": VERSION,
        "k": k,
        "level": level,
        "mean_decimals": audit.MEAN_DECIMALS,
        "groups": list(groups),
        "withheld": sorted(
            [ids[cell.institution - 1] if cell.institution else 0, cell.group, cell.role]
            for cell in withheld
        ),
        "statistics": dict(sorted(statistics.items())),
        "same_period": same_period.publication(
            school_year,
            clock.today(),
            year,
            k,
            level,
            publish=not unfinished,
            budget_seconds=audit_seconds(),
            counts_by_month=counts_by_month,
        ),
        "audit": {
            "cells": len(published_cells),
            "withheld": len(withheld),
            "primary": len(secured.protection.primary),
            "integer_audit": len(secured.added),
            "exposed": len(secured.exposed),
            "timed_out": secured.timed_out,
            "withheld_all": unfinished,
            "rounds": secured.rounds,
            "solves": secured.solves,
            "seconds": round(seconds, 2),
        },
    }


def publish(
    figure_set_id: int,
    groups: tuple[str, ...],
    misconduct: str,
    counts_by_month: Iterable[tuple[int, int, int]] | None = None,
) -> dict[str, Any]:
    """Compute the publication of a set and store it with the set."""
    publication = compute(figure_set_id, groups, misconduct, counts_by_month)
    FigureSet.objects.filter(pk=figure_set_id).update(publication=publication)
    return publication


def stored(figure_set_id: int) -> dict[str, Any] | None:
    """The stored publication of a set, or None (a set computed before issue 11, or under
    other settings of k or the protection level)."""
    value = FigureSet.objects.filter(pk=figure_set_id).values_list("publication", flat=True)
    publication = next(iter(value), None)
    if not publication or publication.get("version") != VERSION:
        return None
    if (publication.get("k"), publication.get("level")) != (disclosure_k(), protection_level()):
        return None  # the policy was changed in the settings since: publish again
    return publication
