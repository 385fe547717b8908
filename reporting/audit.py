"""The integer audit of a publication: what an attacker who solves integer programs can
still learn about the withheld cells (issue 11). No Django here (numpy and scipy only).

:mod:`reporting.disclosure` chooses the suppressions with the line rule and an exact audit
over the *reals*. Counts are integers, though, and a withheld count is at least 1 (zeros
are published): an equation with a few unknowns and distinct weights (the sector mean of
rates) often has a single integer solution. This module bounds every withheld cell the
way such an attacker would, and :func:`secure` adds suppressions until none is too narrow.

The attacker
------------
* **Unknowns are integers.** A withheld cell is ≥ 1; a cell that is never published (the
  residual ``other`` victims) is ≥ 0; no cell exceeds the largest count of the table.
* **Every published linear relation is an equation**: the group lines, the victim-role
  lines, the pooled sector counts (:class:`disclosure.Line` of the table), and the sector
  **mean of rates**, published rounded to :data:`MEAN_DECIMALS` decimals: the attacker
  knows ``|1000/n · Σ cᵢ/sᵢ − mean| ≤ ½·10⁻ᵈ`` with the published denominators ``sᵢ``
  (kept :data:`ROUNDING_MARGIN` inside the bounds: a value on a half rounds one way only,
  and an attacker who knows Python's rounding excludes the other).
  A mean withheld with its sector cell is no equation.
* **Readers who know cells**: a coordinator knows every cell of their own institution
  (the residual included); the audit is run for the outside reader and once for each
  institution whose coordinator learns something the outside does not (those with a
  withheld cell).
* Each withheld cell is minimised and maximised with ``scipy.optimize.milp`` (HiGHS).
  Every solution found is a witness for *all* cells at once, so most cells are settled by
  the solutions found for others; only the rest get their own solve. The true counts are
  the first witness, and the broad solves (all low, all high, random directions) stop at
  the first solution HiGHS finds: a witness needs no proof of optimality (half the time
  of the audit on a sector of 20, the same outcome).

The protection level
--------------------
``level`` (``MIV_DISCLOSURE_PROTECTION``, default 2): a withheld cell is protected when
its feasible integer range is at least ``level`` wide: the attacker is left with at least
``level + 1`` possible counts. Asking more (every value 1 … k−1, as first considered) made
the sums of withheld cells, which are at least 2 by construction, unprotectable, and
withheld more than half of the test sector. :func:`secure` suppresses one
more cell in a line of each cell that fails, cheapest first, and audits again.

Known limits
------------
* Non-linear statistics (the t-interval, median, minimum, maximum, correlations) are not
  modelled: :mod:`reporting.protection` withholds them on every sector line that holds a
  withheld cell, so they are published only where they concern published counts alone.
* Collusion of two coordinators, and knowledge from outside MIV beyond the DUO student
  counts, are not modelled.
* A recomputed year replaces its publication. A reader who kept the earlier one holds a
  second system of equations over *different* counts (the year changed in between): the
  difference of the two is the new registrations, which the audit does not protect.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from .disclosure import Key, Protection, Table, protect

# The published precision of the sector mean of rates (rates per 1,000 students).
MEAN_DECIMALS = 1
# Seconds one solve may take; a solve that does not finish counts as "not shown wide".
SOLVE_SECONDS = 20.0
# Solves in random directions before the cells' own solves (witnesses for many at once).
RANDOM_WITNESSES = 6
# How far inside the rounding interval of a published mean the audit's equation stays
# (in units of the last published decimal): above HiGHS's feasibility tolerance (1e-7).
ROUNDING_MARGIN = 1e-5


@dataclass(frozen=True)
class Ranges:
    """The integer ranges of the withheld cells for one reader."""

    ranges: dict[Key, tuple[int, int]]
    solves: int = 0

    def recovered(self) -> list[Key]:
        return [key for key, (lo, hi) in self.ranges.items() if lo == hi]


def protected(value: int, lo: int, hi: int, k: int, level: int) -> bool:
    """The protection level: the feasible range is at least ``level`` wide, so the cell
    could have any of ``level + 1`` values. (A lower end above 1 is allowed: a sum of two
    withheld cells is at least 2 whatever the counts; ``value`` and ``k`` are kept for a
    stricter rule.)"""
    return hi - lo >= level


def published_mean(values: Iterable[int], weights: Iterable[float], decimals: int) -> float:
    """The sector mean of rates as published: ``1000/n · Σ count·weight`` rounded."""
    values, weights = list(values), list(weights)
    return round(
        1000.0 * sum(v * w for v, w in zip(values, weights, strict=True)) / len(values), decimals
    )


class _Model:
    """The attacker's integer program for one reader: unknowns, bounds, constraints."""

    def __init__(
        self,
        table: Table,
        withheld: frozenset[Key],
        known: frozenset[Key],
        decimals: int,
    ) -> None:
        values = table.values
        hidden = (withheld | table.never_published) - known
        self.keys = sorted(hidden, key=str)
        self.column = {key: j for j, key in enumerate(self.keys)}
        n = len(self.keys)
        top = max(values.values(), default=0) or 1
        self.lower = np.array([1.0 if key in withheld else 0.0 for key in self.keys])
        self.upper = np.full(n, float(top))
        rows: list[dict[int, float]] = []
        lows: list[float] = []
        highs: list[float] = []
        for line in table.lines:
            if line.derived_total:
                if line.total in hidden:
                    continue  # the mean is withheld with its sector cell
                scale = 1000.0 * 10**decimals / len(line.parts)
                mean = published_mean(
                    (values[p] for p in line.parts),
                    (line.weight(i) for i in range(len(line.parts))),
                    decimals,
                )
                row: dict[int, float] = {}
                constant = 0.0
                for i, part in enumerate(line.parts):
                    coefficient = scale * line.weight(i)
                    if part in self.column:
                        row[self.column[part]] = row.get(self.column[part], 0.0) + coefficient
                    else:
                        constant += coefficient * values[part]
                if not row:
                    continue
                target = mean * 10**decimals - constant
                rows.append(row)
                # A mean that lands on a half rounds one way only: the attacker who knows the
                # rounding excludes the other end. The audit's interval is the published
                # one shrunk by more than the solver's tolerance, so it never holds a
                # solution the attacker can exclude (it may miss one: the safe side), and
                # always holds the true counts.
                true = sum(coefficient * values[self.keys[j]] for j, coefficient in row.items())
                lows.append(min(target - 0.5 + ROUNDING_MARGIN, true))
                highs.append(max(target + 0.5 - ROUNDING_MARGIN, true))
                continue
            row = {}
            constant = 0.0
            terms = [(line.total, -1.0)] + [(p, line.weight(i)) for i, p in enumerate(line.parts)]
            for key, coefficient in terms:
                if key in self.column:
                    row[self.column[key]] = row.get(self.column[key], 0.0) + coefficient
                else:
                    constant += coefficient * values.get(key, 0)
            if not row:
                continue
            rows.append(row)
            lows.append(-constant)
            highs.append(-constant)
        data, indices, pointers = [], [], [0]
        for row in rows:
            for j, coefficient in row.items():
                indices.append(j)
                data.append(coefficient)
            pointers.append(len(indices))
        self.matrix = csr_array((data, indices, pointers), shape=(len(rows), n))
        self.lows = np.array(lows)
        self.highs = np.array(highs)
        self.solves = 0

    def solve(self, objective: np.ndarray, *, optimal: bool = True) -> np.ndarray | None:
        """An optimal integer solution for ``objective`` (minimised), or None when the
        solver gave up (time limit): the caller then learns nothing from it. With
        ``optimal=False`` any solution HiGHS finds on its way will do (a witness needs no
        proof of optimality: about half the time of the audit on a sector of 20)."""
        self.solves += 1
        options: dict = {"time_limit": SOLVE_SECONDS, "disp": False}
        if not optimal:
            options["mip_rel_gap"] = math.inf
        constraints = (
            [LinearConstraint(self.matrix, self.lows, self.highs)] if self.matrix.shape[0] else []
        )
        result = milp(
            objective,
            constraints=constraints,
            integrality=np.ones(len(self.keys)),
            bounds=Bounds(self.lower, self.upper),
            options=options,
        )
        if result.status != 0 or result.x is None:
            return None
        return np.round(result.x)


def integer_ranges(
    table: Table,
    withheld: Iterable[Key],
    *,
    known: Iterable[Key] = (),
    decimals: int = MEAN_DECIMALS,
    settled: Callable[[Key, int, int], bool] | None = None,
    only: Iterable[Key] | None = None,
    unpublished: Iterable[Key] = (),
) -> Ranges:
    """The feasible integer range of each withheld cell (not ``known``) for a reader who
    knows ``known``; with ``only``, of those cells alone (the model is the same);
    ``unpublished``: cells never published (``table.never_published``, at least 0) whose
    ranges are wanted too.

    ``settled(key, lo, hi)``: a cell whose range *seen so far* in solutions already
    satisfies it gets no solves of its own (its reported range is then what was seen, a
    sub-range of the true one). Without it every range is exact."""
    withheld_set = frozenset(withheld)
    known_set = frozenset(known)
    asked = None if only is None else frozenset(only)
    wanted = (withheld_set | (frozenset(unpublished) & table.never_published)) - known_set
    targets = [key for key in sorted(wanted, key=str) if asked is None or key in asked]
    if not targets:
        return Ranges({})
    model = _Model(table, withheld_set, known_set, decimals)
    n = len(model.keys)
    seen_lo = {key: math.inf for key in targets}
    seen_hi = {key: -math.inf for key in targets}
    exact_lo: set[Key] = set()
    exact_hi: set[Key] = set()
    truth = np.array([float(table.values.get(key, 0)) for key in model.keys])

    def witness(x: np.ndarray | None) -> None:
        if x is None:
            return
        for key in targets:
            value = x[model.column[key]]
            seen_lo[key] = min(seen_lo[key], value)
            seen_hi[key] = max(seen_hi[key], value)

    def done(key: Key) -> bool:
        if key in exact_lo and key in exact_hi:
            return True
        if seen_lo[key] > seen_hi[key]:
            return False  # no solution seen yet (the solver gave up so far)
        return settled is not None and settled(key, int(seen_lo[key]), int(seen_hi[key]))

    # Broad solves first: everything withheld as low, then as high, as possible, then a few
    # random directions; each solution is a witness for every cell.
    witness(truth)  # the true counts are a solution (the attacker does not know it)
    ones = np.zeros(n)
    for key in targets:
        ones[model.column[key]] = 1.0
    witness(model.solve(ones, optimal=False))
    witness(model.solve(-ones, optimal=False))
    rng = np.random.default_rng(len(targets))
    for _ in range(RANDOM_WITNESSES):
        if settled is not None and all(done(key) for key in targets):
            break
        witness(model.solve(ones * rng.choice([-1.0, 1.0], size=n), optimal=False))
    for key in targets:
        for sign, exact in ((1.0, exact_lo), (-1.0, exact_hi)):
            if done(key) or key in exact:
                continue
            objective = np.zeros(n)
            objective[model.column[key]] = sign
            x = model.solve(objective)
            witness(x)
            if x is not None:
                exact.add(key)
    ranges = {
        key: (int(seen_lo[key]), int(seen_hi[key]))
        if seen_lo[key] <= seen_hi[key]
        else (table.values[key], table.values[key])
        for key in targets
    }
    return Ranges(ranges, solves=model.solves)


@dataclass
class Secured:
    """The outcome of :func:`secure`: the suppressions and what the audit found."""

    protection: Protection
    level: int
    solves: int = 0
    rounds: int = 0
    # Suppressions the integer audit added on top of the line rule and the exact audit.
    added: set[Key] = field(default_factory=set)
    # Cells still too narrow when no candidate was left (reported, never hidden).
    exposed: set[Key] = field(default_factory=set)
    # The time budget or the round limit ran out before the audit was clean.
    timed_out: bool = False


def _local_rules(
    table: Table,
    withheld: frozenset[Key],
    level: int,
    contributor: Callable[[Key], object] | None,
) -> list[tuple[int, str]]:
    """Lines that break one of the two cheap rules, checked before the integer program:

    * **slack**: in a line with a published total, the withheld cells add up to at least
      ``level`` more than their lower bounds (1 each), else their ranges are narrower than
      ``level`` by the bounds alone (a total of 3 split over two withheld cells: 1 or 2);
    * **three contributors**: in a line whose parts come from different contributors (a
      sector line: one cell per institution), withheld parts come from none or at least
      three of them, so that a coordinator who knows their own still faces two unknowns.
    """
    values = table.values
    broken: list[tuple[int, str]] = []
    for index, line in enumerate(table.lines):
        if line.derived_total or line.total in withheld or line.total in table.never_published:
            continue
        parts = [p for p in line.parts if p in withheld or p in table.never_published]
        hidden = [p for p in parts if p in withheld]
        if not hidden:
            continue
        free = sum(values.get(p, 0) for p in parts) - len(hidden)
        if free < level:
            broken.append((index, "slack"))
            continue
        if contributor is not None and len(line.parts) >= 3:
            owners = [contributor(p) for p in line.parts]
            if len(set(owners)) == len(owners) and 0 < len(hidden) < 3:
                broken.append((index, "contributors"))
    return broken


def secure(
    table: Table,
    k: int,
    level: int,
    *,
    cost: Callable[[Key, int], tuple] | None = None,
    contributor: Callable[[Key], object] | None = None,
    readers: Mapping[object, Iterable[Key]] | None = None,
    decimals: int = MEAN_DECIMALS,
    max_rounds: int = 1000,
    budget_seconds: float | None = None,
) -> Secured:
    """Suppress until every withheld cell is protected against the integer attacker.

    Each round: :func:`disclosure.protect` with the suppressions added so far; then the
    local rules (:func:`_local_rules`) and, once they hold, the integer audit of the
    outside reader, then of every reader in ``readers`` (name → the cells they know, a
    coordinator's institution) who knows a withheld cell; each broken line or narrow cell
    gets one more suppression in its lines (positive, published, not known to that reader,
    cheapest by ``cost``); when its own lines have none left, in the lines of the withheld
    cells it shares a line with (a coordinator who knows their own cells can otherwise pin
    two others' cells that have no published partner left: the test sector's 2021-2022).
    The audits per reader make the cost grow with the sector: the synthetic sector of 60
    institutions (``tests/reporting/test_sector_of_60.py``) takes about 64 rounds and 4
    minutes on one core. The round limit and ``budget_seconds`` end an audit that does
    not finish with ``timed_out`` set: its suppressions are not shown safe."""
    values = table.values
    rank = cost or (lambda key, value: (value, str(key)))
    lines_of: dict[Key, list[int]] = defaultdict(list)
    for index, line in enumerate(table.lines):
        for key in line.cells:
            lines_of[key].append(index)
    added: set[Key] = set()
    exposed: set[Key] = set()
    # Per reader: the withheld cells at their last audit and the cells it showed protected.
    # Withholding more only widens the ranges of cells already withheld (every earlier
    # solution stays feasible with the new unknowns at their true values, and a mean
    # withheld with its sector cell drops its equation), so while the withheld set grows a
    # cell shown protected stays protected: later rounds audit only the cells not shown
    # yet. The outcome is the one of a full audit per round (each audited range is exact
    # where it matters); the solves are a fraction.
    shown: dict[frozenset[Key], tuple[frozenset[Key], frozenset[Key]]] = {}
    solves = 0
    rounds = 0
    started = time.monotonic()
    timed_out = False
    while True:
        rounds += 1
        protection = protect(table, k, cost=cost, also=added)
        withheld = protection.suppressed

        def candidates(
            indices: Iterable[int], new: set[Key], withheld: frozenset[Key] = withheld
        ) -> list[Key]:
            return sorted(
                {
                    cell
                    for index in indices
                    for cell in table.lines[index].cells
                    if cell not in withheld
                    and cell not in table.never_published
                    and cell not in new
                    and values.get(cell, 0) > 0
                },
                key=lambda cell: rank(cell, values[cell]),
            )

        new: set[Key] = set()
        exposed = set()
        for index, _rule in _local_rules(table, withheld, level, contributor):
            line = table.lines[index]
            if new & set(line.cells):
                continue
            choice = candidates([index], new)
            if choice:
                new.add(choice[0])
        # The outside reader first, then every reader who knows a withheld cell.
        audits = [frozenset()] + [
            frozenset(known) for known in (readers or {}).values() if withheld & set(known)
        ]
        for known in audits if not new else ():

            def settled(key: Key, lo: int, hi: int) -> bool:
                return protected(values[key], lo, hi, k, level)

            before, safe = shown.get(known, (frozenset(), frozenset()))
            if not withheld >= before:
                safe = frozenset()  # the suppressions changed, not only grew: audit all
            result = integer_ranges(
                table,
                withheld,
                known=known,
                decimals=decimals,
                settled=settled,
                only=withheld - safe,
            )
            solves += result.solves
            narrow = [
                key
                for key, (lo, hi) in result.ranges.items()
                if not protected(values[key], lo, hi, k, level)
            ]
            shown[known] = (withheld, safe | (frozenset(result.ranges) - frozenset(narrow)))
            for key in sorted(narrow, key=lambda key: rank(key, values[key])):
                choice = [c for c in candidates(lines_of[key], new) if c not in known]
                if not choice:
                    # Every cell of its own lines is withheld, zero or known to this reader:
                    # look one step further, in the lines of the withheld cells it shares a
                    # line with (a suppression there widens what pins this cell).
                    partners = {
                        cell
                        for index in lines_of[key]
                        for cell in table.lines[index].cells
                        if cell in withheld and cell not in known and cell != key
                    }
                    further = {index for cell in partners for index in lines_of[cell]}
                    choice = [c for c in candidates(further, new) if c not in known]
                if choice:
                    new.add(choice[0])
                else:
                    exposed.add(key)
            if new:
                break
        if not new:
            break
        if rounds >= max_rounds or (
            budget_seconds is not None and time.monotonic() - started > budget_seconds
        ):
            # Not finished: some withheld cell may still be too narrow. The outcome says so
            # (``timed_out``) and must not be published as it is (:mod:`reporting.publication`
            # then withholds every cell). A round limit that was reached used to end the loop
            # as if the audit were clean: on the synthetic sector of 60 it did.
            timed_out = True
            break
        added |= new
    return Secured(
        protection=protection,
        level=level,
        solves=solves,
        rounds=rounds,
        added=added,
        exposed=exposed,
        timed_out=timed_out,
    )
