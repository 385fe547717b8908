"""An independent attacker for MIV's published figures of one school year.

The attacker models a reader who collects every published output of a school year -- the
research API's rows per institution, the sector figures, DUO's public student counts and, for
a coordinator, their own institution's exact counts -- and solves integer programs
(``scipy.optimize.milp``, HiGHS) to find, for every withheld count, the range of values that is
consistent with all of it.

It is written from the *published shapes* only, not from MIV's disclosure code: it is the
independent check of that code. What it assumes about the publication:

* Counts are non-negative integers. A withheld count (``suppressed: True``) is at least 1,
  because zeros are always published. A count that is missing without being marked withheld
  (``count: None, suppressed: False``) and a cell that has no row at all are only known to be
  at least 0.
* Per institution and victim role: ``total = misdragingen + ongevallen``; ``misdragingen`` is
  the misconduct category; ``ongevallen`` is the sum of the other categories. The categories are
  every group in the rows that is not one of the three report groups, and that list is taken to
  be complete.
* Per institution and group: ``all = student + staff + other``, where ``other`` (visitors, no
  victim, unknown) is a non-negative integer that is never published.
* Per group and role, when published: the pooled count is the sum over the sector's
  institutions, and the mean rate is the unweighted mean over institutions of
  ``1000 * count / students``, taken over the institutions that have a row for that group and
  role and a student number. The mean is used only when its ``institutions`` equals the number
  of those institutions.
* Every count is at most ``upper_bound`` (10**6 unless given): only there to keep the programs
  bounded; the published equations bound the counts far more tightly.

The second half of the module inverts the rows of *unnamed* institutions that dashboards show
(rate per 1,000 students, its exact Poisson interval and a size class) against DUO's public
student counts: :func:`invert_anonymous_rows` and :func:`summarize_inversion`.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array
from scipy.stats import chi2

__all__ = [
    "REPORT_GROUPS",
    "ROLES",
    "AttackResult",
    "Cell",
    "InconsistentPublication",
    "InversionSummary",
    "InvertedRow",
    "attack",
    "garwood_interval",
    "invert_anonymous_rows",
    "summarize_inversion",
]

REPORT_GROUPS: tuple[str, str, str] = ("total", "misdragingen", "ongevallen")
ROLES: tuple[str, str, str] = ("all", "student", "staff")

Cell = tuple[str, str, str]
"""A published cell: ``(BRIN, group, victim_role)``."""

#: Slack for comparing sums of published integers (exact in floating point up to 2**53).
_EPS = 1e-7
#: Relative tolerance for a mean published at full float precision.
_MEAN_REL_TOL = 1e-6
#: Lattice reduction of thin mean rows: LLL's delta and the weight of a box width.
_LLL_DELTA = 0.99
_BOX_WEIGHT = 10.0
#: Boxes wider than this after propagation are tightened by linear programming.
_WIDE_BOX = 20.0


class InconsistentPublication(ValueError):
    """The published figures contradict the attacker's model (no non-negative integer table
    fits them). Either the publication is wrong or a relation above does not hold; in both
    cases no range computed from it could be trusted."""


@dataclass(frozen=True)
class AttackResult:
    """What the attacker learns about every withheld cell.

    ``ranges`` maps each withheld cell the attacker does not already know to the integer range
    ``(lo, hi)`` of its values over all tables consistent with everything published. The
    ranges are sound: they always contain the true value. When ``exact`` they are also tight
    (both ends are attained). When the time limit cut solves short, the cells concerned are in
    ``unresolved`` and their range is a proven outer bound (from the solver's dual bound, or
    the propagated box when there was no time left), so it may be wider than the truth.
    ``witnessed`` is the inner bound: the least and greatest value the cell took in the
    consistent tables the solver actually found.
    """

    ranges: dict[Cell, tuple[int, int]]
    witnessed: dict[Cell, tuple[int, int]] = field(default_factory=dict)
    exact: bool = True
    unresolved: tuple[Cell, ...] = ()
    solves: int = 0
    seconds: float = 0.0

    @property
    def recovered(self) -> list[Cell]:
        """Withheld cells whose value is pinned to a single integer."""
        return [cell for cell, (lo, hi) in self.ranges.items() if lo == hi]

    def narrower_than(self, level: int) -> list[Cell]:
        """Withheld cells whose range does not include every value ``1..level``: ``lo > 1``
        or ``hi < level``. ``level`` is the protection level the publication promises; a
        cell listed here breaks that promise (also when unresolved: the range is then an
        outer bound, so the true range is narrower still)."""
        return [cell for cell, (lo, hi) in self.ranges.items() if lo > 1 or hi < level]

    def undecided(self, level: int) -> list[Cell]:
        """Unresolved cells whose outer range includes ``1..level`` but whose witnessed
        values do not: a longer attack might still find them narrower than ``level``."""
        narrower = set(self.narrower_than(level))
        return [
            cell
            for cell in self.unresolved
            if cell not in narrower
            and not (
                cell in self.witnessed
                and self.witnessed[cell][0] <= 1
                and self.witnessed[cell][1] >= level
            )
        ]

    @property
    def unknown_cells(self) -> int:
        """The number of withheld cells the attacker did not know beforehand."""
        return len(self.ranges)


# --------------------------------------------------------------------------------------------
# Building the model
# --------------------------------------------------------------------------------------------


class _Row(NamedTuple):
    """``lower <= sum(coefficients[j] * x[j]) <= upper``."""

    coefficients: dict[int, float]
    lower: float
    upper: float
    what: str
    mean: bool = False


class _Model:
    """The linear system over the unknown cells: published and known cells are constants."""

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound
        self.const: dict[Cell, int] = {}
        self.index: dict[Cell, int] = {}
        self.lower: list[int] = []
        self.targets: list[Cell] = []
        self.rows: list[_Row] = []

    def variable(self, cell: Cell, lower: int) -> None:
        self.index[cell] = len(self.lower)
        self.lower.append(lower)

    def add(
        self,
        terms: Iterable[tuple[float, Cell]],
        lower: float,
        upper: float,
        what: str,
        slack: float = _EPS,
        mean: bool = False,
    ) -> None:
        """Add ``lower <= sum(coefficient * cell) <= upper``; constants move to the bounds.

        A cell that is neither published, known nor a variable does not occur (the caller
        creates every cell of the grid), so a missing cell is a programming error."""
        coefficients: dict[int, float] = defaultdict(float)
        offset = 0.0
        for coefficient, cell in terms:
            if cell in self.const:
                offset += coefficient * self.const[cell]
            else:
                coefficients[self.index[cell]] += coefficient
        coefficients = {j: a for j, a in coefficients.items() if a != 0.0}
        lower -= offset
        upper -= offset
        if not coefficients:
            if lower > slack or upper < -slack:
                raise InconsistentPublication(
                    f"{what}: the published values violate it ({lower:g} <= 0 <= {upper:g} fails)"
                )
            return
        self.rows.append(_Row(coefficients, lower, upper, what, mean))


def _institution_students(
    rows: Sequence[Mapping[str, Any]], students: Mapping[str, int]
) -> dict[str, int | None]:
    """Student number per institution: the row's ``students``, else DUO's public number."""
    result: dict[str, int | None] = {}
    for row in rows:
        brin = row["institution"]
        value = row.get("students")
        if value is not None:
            if result.get(brin) not in (None, value):
                raise InconsistentPublication(f"{brin}: rows give different student numbers")
            result[brin] = int(value)
        else:
            result.setdefault(brin, None)
    for brin in result:
        if result[brin] is None and students.get(brin) is not None:
            result[brin] = int(students[brin])
    return result


def _build(
    rows: Sequence[Mapping[str, Any]],
    sector: Sequence[Mapping[str, Any]],
    students: Mapping[str, int],
    known: Mapping[Cell, int],
    misconduct: str,
    mean_decimals: int | None,
    upper_bound: int,
) -> _Model:
    institutions = sorted({row["institution"] for row in rows})
    groups_in_rows = {row["group"] for row in rows}
    categories = sorted(groups_in_rows - set(REPORT_GROUPS))
    if categories and misconduct not in categories:
        raise ValueError(
            f"the misconduct category {misconduct!r} is not among the published categories "
            f"{categories}: the relation misdragingen = {misconduct} cannot be used"
        )
    groups = [*REPORT_GROUPS, *categories]

    published: dict[Cell, int | None] = {}
    withheld: dict[Cell, int] = {}  # cell -> its lower bound (1 if marked withheld, else 0)
    for row in rows:
        cell: Cell = (row["institution"], row["group"], row["victim_role"])
        if row["victim_role"] not in ROLES:
            raise ValueError(f"{cell}: unknown victim role")
        count = row.get("count")
        if count is not None:
            if int(count) < 0:
                raise InconsistentPublication(f"{cell}: negative count")
            if published.get(cell) not in (None, int(count)) or cell in withheld:
                raise InconsistentPublication(f"{cell}: published twice with different counts")
            published[cell] = int(count)
        else:
            if cell in published:
                raise InconsistentPublication(f"{cell}: both published and withheld")
            withheld[cell] = max(withheld.get(cell, 0), 1 if row.get("suppressed") else 0)

    largest = max(
        [c for c in published.values() if c is not None] + list(known.values()), default=0
    )
    model = _Model(max(upper_bound, largest))

    for cell, value in known.items():
        if cell in published and published[cell] != value:
            raise InconsistentPublication(f"{cell}: known {value}, published {published[cell]}")
        if value < withheld.get(cell, 0):
            raise InconsistentPublication(f"{cell}: known {value}, but it is withheld (>= 1)")
    model.const.update({cell: c for cell, c in published.items() if c is not None})
    model.const.update(known)

    for brin in institutions:
        for group in groups:
            for role in ROLES:
                cell = (brin, group, role)
                if cell in model.const:
                    continue
                model.variable(cell, withheld.get(cell, 0))
                if cell in withheld:
                    model.targets.append(cell)

    # Per institution and role: the report groups and the categories.
    others = [c for c in categories if c != misconduct]
    for brin in institutions:
        for role in ROLES:
            t, m, o = ((brin, g, role) for g in REPORT_GROUPS)
            model.add([(1, t), (-1, m), (-1, o)], 0, 0, f"{brin}/{role}: total = mis + ong")
            if categories:
                model.add(
                    [(1, m), (-1, (brin, misconduct, role))],
                    0,
                    0,
                    f"{brin}/{role}: misdragingen = {misconduct}",
                )
                model.add(
                    [(1, o), *((-1, (brin, c, role)) for c in others)],
                    0,
                    0,
                    f"{brin}/{role}: ongevallen = sum of the other categories",
                )
    # Per institution and group: all = student + staff + other, other >= 0.
    for brin in institutions:
        for group in groups:
            model.add(
                [
                    (1, (brin, group, "all")),
                    (-1, (brin, group, "student")),
                    (-1, (brin, group, "staff")),
                ],
                0,
                math.inf,
                f"{brin}/{group}: all >= student + staff",
            )

    # Per group and role: the sector's pooled count and mean rate.
    per_institution = _institution_students(rows, students)
    has_row: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        has_row[(row["group"], row["victim_role"])].add(row["institution"])
    for figure in sector:
        group, role = figure["group"], figure["victim_role"]
        with_row = sorted(has_row.get((group, role), ()))
        in_mean = [b for b in with_row if per_institution.get(b)]
        n = figure.get("institutions")
        pooled = figure.get("pooled_count")
        what = f"sector {group}/{role}"
        if pooled is not None:
            everyone = [(1, (b, group, role)) for b in with_row]
            rated = [(1, (b, group, role)) for b in in_mean]
            if n is None or n == len(with_row):
                model.add(everyone, pooled, pooled, f"{what}: pooled count")
            elif n == len(in_mean):
                # The pool covers the institutions in the mean, perhaps also the others.
                model.add(rated, -math.inf, pooled, f"{what}: pooled count (lower)")
                model.add(everyone, pooled, math.inf, f"{what}: pooled count (upper)")
            elif n > len(with_row):
                # The sector has institutions the attacker has no row for.
                model.add(everyone, -math.inf, pooled, f"{what}: pooled count (partial)")
        mean = figure.get("mean_rate")
        if mean is not None and n is not None and n == len(in_mean) and n > 0:
            target = float(mean) * n
            tolerance = _MEAN_REL_TOL * max(1.0, abs(target))
            if mean_decimals is not None:
                tolerance += 0.5 * 10.0**-mean_decimals * n
            terms = [(1000.0 / per_institution[b], (b, group, role)) for b in in_mean]
            model.add(
                terms,
                target - tolerance,
                target + tolerance,
                f"{what}: mean rate",
                slack=0.0,
                mean=True,
            )
    return model


def _add_same_period(
    model: _Model,
    rows: Sequence[Mapping[str, Any]],
    sector: Sequence[Mapping[str, Any]],
    students: Mapping[str, int],
    means: Sequence[float],
    mean_decimals: int | None,
) -> None:
    """The same-period means as equations over new unknowns ``(brin, "through-j", "all")``."""
    if not means:
        return
    per_institution = _institution_students(rows, students)
    in_mean = sorted(
        {r["institution"] for r in rows if (r["group"], r["victim_role"]) == ("total", "all")}
        & {b for b, s in per_institution.items() if s}
    )
    figure = next(f for f in sector if (f["group"], f["victim_role"]) == ("total", "all"))
    if figure.get("institutions") != len(in_mean):
        raise ValueError("the same period's institutions are not those of the year's mean")
    n = len(in_mean)
    for brin in in_mean:
        previous = None
        for j in range(len(means)):
            cell = (brin, f"through-{j}", "all")
            model.variable(cell, 0)
            if previous is not None:
                model.add([(1, cell), (-1, previous)], 0, math.inf, f"{brin}: same period grows")
            previous = cell
        model.add(
            [(1, (brin, "total", "all")), (-1, previous)],
            0,
            math.inf,
            f"{brin}: same period at most the year",
        )
    for j, mean in enumerate(means):
        target = float(mean) * n
        tolerance = _MEAN_REL_TOL * max(1.0, abs(target))
        if mean_decimals is not None:
            tolerance += 0.5 * 10.0**-mean_decimals * n
        model.add(
            [(1000.0 / per_institution[b], (b, f"through-{j}", "all")) for b in in_mean],
            target - tolerance,
            target + tolerance,
            f"same period {j}: mean rate",
            slack=0.0,
            mean=True,
        )


# --------------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------------


def _components(model: _Model) -> list[tuple[list[int], list[int]]]:
    """Split the variables into independent blocks: (variables, constraint rows) each."""
    parent = list(range(len(model.lower)))

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    for row in model.rows:
        first, *rest = row.coefficients
        for j in rest:
            a, b = find(first), find(j)
            if a != b:
                parent[b] = a
    variables: dict[int, list[int]] = defaultdict(list)
    for j in range(len(parent)):
        variables[find(j)].append(j)
    constraints: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(model.rows):
        constraints[find(next(iter(row.coefficients)))].append(i)
    return [(variables[root], constraints.get(root, [])) for root in variables]


class _ReductionFailed(Exception):
    """The floating-point reduction broke down; the caller keeps the unreduced basis."""


def _lll(basis: np.ndarray, delta: float = 0.99) -> np.ndarray:
    """LLL-reduce the rows of ``basis``; returns the unimodular ``U`` (``U @ basis`` reduced).

    Floating-point Gram-Schmidt, updated in place on swaps (Cohen, algorithm 2.6.3) and
    recomputed now and then. ``U`` is built from integer row operations only, so it is
    unimodular whatever the rounding: a poorly reduced basis is slower, never wrong."""
    n = basis.shape[0]
    transform = np.eye(n)

    def gram_schmidt() -> tuple[np.ndarray, np.ndarray]:
        r = np.linalg.qr((transform @ basis).T, mode="r")
        diagonal = np.diag(r).copy()
        if not np.all(np.abs(diagonal) > 1e-12 * np.abs(r).max()):
            raise _ReductionFailed  # pragma: no cover - numerically dependent rows
        return (r / diagonal[:, None]).T, diagonal**2

    mu, norms = gram_schmidt()
    k, swaps = 1, 0
    while k < n and swaps < 50 * n * n:
        for j in range(k - 1, -1, -1):
            q = float(np.rint(mu[k, j]))
            if q:
                transform[k] -= q * transform[j]
                mu[k, :j] -= q * mu[j, :j]
                mu[k, j] -= q
        if norms[k] < (delta - mu[k, k - 1] ** 2) * norms[k - 1]:
            transform[[k - 1, k]] = transform[[k, k - 1]]
            swaps += 1
            if swaps % 1000 == 0:
                mu, norms = gram_schmidt()
            else:
                mu[[k - 1, k], : k - 1] = mu[[k, k - 1], : k - 1]
                m = mu[k, k - 1]
                joined = norms[k] + m * m * norms[k - 1]
                mu[k, k - 1] = m * norms[k - 1] / joined
                norms[k] = norms[k - 1] * norms[k] / joined
                norms[k - 1] = joined
                t = mu[k + 1 :, k].copy()
                mu[k + 1 :, k] = mu[k + 1 :, k - 1] - m * t
                mu[k + 1 :, k - 1] = t + mu[k, k - 1] * mu[k + 1 :, k]
            k = max(k - 1, 1)
        else:
            k += 1
    if np.abs(transform).max() > 2.0**40:  # pragma: no cover - would lose exactness
        return np.eye(n, dtype=np.int64)
    return np.rint(transform).astype(np.int64)


def _eliminate(rows: list[_Row], size: int) -> tuple[list[int], list[dict[int, int]], set[int]]:
    """Solve integer equations for a variable with coefficient +-1 and substitute it.

    Returns ``x`` as ``origin + sum(coefficient * free variable)`` per cell, and the rows
    that were used up (they hold for every integer value of the free variables)."""
    origin = [0] * size
    free: list[dict[int, int]] = [{j: 1} for j in range(size)]
    users: dict[int, set[int]] = {j: {j} for j in range(size)}
    done: set[int] = set()
    candidates = [
        r
        for r, row in enumerate(rows)
        if not row.mean
        and row.lower == row.upper
        and all(float(a).is_integer() for a in row.coefficients.values())
    ]
    progress = True
    while progress:
        progress = False
        for r in candidates:
            if r in done:
                continue
            row = rows[r]
            constant = 0
            combined: dict[int, int] = defaultdict(int)
            for j, a in row.coefficients.items():
                constant += int(a) * origin[j]
                for f, t in free[j].items():
                    combined[f] += int(a) * t
            combined = {f: v for f, v in combined.items() if v}
            rhs = int(round(row.lower)) - constant
            if not combined:
                if rhs != 0:
                    raise InconsistentPublication(f"{row.what}: contradicted")
                done.add(r)
                progress = True
                continue
            pivot = min(
                (f for f, v in combined.items() if abs(v) == 1),
                key=lambda f: len(users[f]),
                default=None,
            )
            if pivot is None:
                continue
            sign = combined[pivot]
            value = sign * rhs
            replacement = {f: -sign * v for f, v in combined.items() if f != pivot}
            for j in list(users.pop(pivot)):
                t = free[j].pop(pivot)
                origin[j] += t * value
                for f, v in replacement.items():
                    updated = free[j].get(f, 0) + t * v
                    if updated:
                        free[j][f] = updated
                        users[f].add(j)
                    else:
                        free[j].pop(f, None)
                        users[f].discard(j)
            done.add(r)
            progress = True
    return origin, free, done


class _Space:
    """One block of cells as an integer program over new integer variables ``lam``:
    ``x = origin + basis @ lam``.

    Built in two exact steps. First, every integer equation with a unit coefficient is solved
    for that variable and substituted (an integer affine map, so integer ``lam`` give exactly
    the integer ``x`` that satisfy those equations). Then, when the block has mean-rate rows,
    the remaining free integer variables are changed by a unimodular matrix from LLL reduction
    of the lattice with the mean rows scaled by their tolerance (Aardal-Hurkens-Lenstra). The
    mean rows make the problem an equality knapsack with irrational-looking weights, which
    branch and bound on the cells themselves needs tens of thousands of nodes to settle;
    branching on the reduced variables settles it in a few. Neither step changes the set of
    integer solutions."""

    def __init__(self, model: _Model, variables: list[int], constraint_rows: list[int]) -> None:
        local = {j: k for k, j in enumerate(variables)}
        size = len(variables)
        self.size = size
        self.lower = np.array([model.lower[j] for j in variables], dtype=float)
        self.upper = np.full(size, float(model.upper_bound))
        rows = [
            _Row(
                {local[j]: a for j, a in model.rows[i].coefficients.items()},
                model.rows[i].lower,
                model.rows[i].upper,
                model.rows[i].what,
                model.rows[i].mean,
            )
            for i in constraint_rows
        ]
        self.what = [row.what for row in rows]
        self._propagate(rows)
        self._tighten(rows)
        # Cells the propagation pinned become equations, eliminated first.
        rows = [
            *(
                _Row({j: 1.0}, self.lower[j], self.lower[j], "pinned")
                for j in range(size)
                if self.lower[j] == self.upper[j]
            ),
            *rows,
        ]
        origin, free, done = _eliminate(rows, size)
        kept = [row for r, row in enumerate(rows) if r not in done]
        free_ids = sorted({f for expression in free for f in expression})
        free_cells = np.array(free_ids, dtype=np.int64)  # a free variable is its own cell
        column = {f: c for c, f in enumerate(free_ids)}
        affine = np.zeros((size, len(free_ids)), dtype=np.int64)
        for j, expression in enumerate(free):
            for f, a in expression.items():
                affine[j, column[f]] = a
        matrix = np.zeros((len(kept), size))
        for r, row in enumerate(kept):
            for j, a in row.coefficients.items():
                matrix[r, j] = a
        low = np.array([row.lower for row in kept])
        high = np.array([row.upper for row in kept])
        # Only thin mean rows -- narrower than half the smallest weight, so that no single
        # count can change by one within them: a mean published at full precision -- make the
        # knapsack hard; a rounded mean leaves many solutions, which the solver finds
        # easily, and reduction would only make the rows dense.
        means = [
            r
            for r, row in enumerate(kept)
            if row.mean
            and (row.upper - row.lower) < 0.5 * min(abs(a) for a in row.coefficients.values())
        ]
        unreduced = affine
        if means and affine.shape[1] > 1:
            # Measure a step in box widths along every cell and in half-widths of the
            # tolerance along every mean row: the short vectors of that lattice are the
            # directions along which the polytope is long.
            reduced = matrix @ affine
            scale = np.array(
                [min(2.0 / max(high[r] - low[r], 1e-12), 1e6) for r in means], dtype=float
            )
            box = _BOX_WEIGHT / (self.upper - self.lower + 1.0)
            lattice = np.hstack([(affine * box[:, None]).T, (reduced[means] * scale[:, None]).T])
            try:
                affine = affine @ _lll(lattice, _LLL_DELTA).T
            except _ReductionFailed:  # pragma: no cover - keep the unreduced (valid) basis
                pass
        self.basis = affine
        self.origin = np.array(origin, dtype=np.int64)
        self._matrix, self._low, self._high = matrix, low, high
        moving = np.any(affine != 0, axis=1)
        if np.any(
            (self.origin[~moving] < self.lower[~moving])
            | (self.origin[~moving] > self.upper[~moving])
        ):
            raise InconsistentPublication("a withheld count is forced outside its bounds")
        width = affine.shape[1]
        self.bounds = Bounds(np.full(width, -np.inf), np.full(width, np.inf))
        self.integrality = np.ones(width)
        # The substitution can leave the origin far from the box, and then the solver works
        # with large, cancelling values of lam: move it to the lattice point nearest the
        # box's centre (and later to a solution), so that lam stays small.
        centre = np.array(origin, dtype=np.int64)
        centre += unreduced @ np.rint((self.lower + self.upper)[free_cells] / 2).astype(np.int64)
        self.recentre(centre)

    def recentre(self, origin: np.ndarray) -> None:
        """Use the integer point ``origin`` of the lattice as ``lam = 0`` and rebuild the rows
        over ``lam``: the bounds of ``x``, then the rows not eliminated."""
        self.origin = np.asarray(origin, dtype=np.int64)
        affine, matrix = self.basis, self._matrix
        moving = np.any(affine != 0, axis=1)
        blocks = [affine[moving].astype(float)]
        lows = [self.lower[moving] - self.origin[moving]]
        highs = [self.upper[moving] - self.origin[moving]]
        if len(matrix):
            shift = matrix @ self.origin
            blocks.append(matrix @ affine)
            lows.append(self._low - shift)
            highs.append(self._high - shift)
        a = np.vstack(blocks)
        lo, hi = np.concatenate(lows), np.concatenate(highs)
        nonzero = np.any(np.abs(a) > 1e-12, axis=1)
        if np.any((lo[~nonzero] > _EPS) | (hi[~nonzero] < -_EPS)):
            raise InconsistentPublication("the published figures contradict each other")
        a, lo, hi = a[nonzero], lo[nonzero], hi[nonzero]
        self.constraints = (
            [LinearConstraint(csr_array(a), lo, hi)] if affine.shape[1] and len(lo) else []
        )

    def _propagate(self, rows: list[_Row], passes: int = 100) -> None:
        """Tighten the box by bound propagation over the rows (interval arithmetic, rounded
        outwards, so sound)."""
        if not rows:
            return
        matrix = np.zeros((len(rows), self.size))
        for r, row in enumerate(rows):
            for j, a in row.coefficients.items():
                matrix[r, j] = a
        low = np.array([row.lower for row in rows])[:, None]
        high = np.array([row.upper for row in rows])[:, None]
        positive, negative = np.maximum(matrix, 0.0), np.minimum(matrix, 0.0)
        nonzero = matrix != 0
        safe = np.where(nonzero, matrix, 1.0)
        with np.errstate(invalid="ignore"):
            for _ in range(passes):
                lb, ub = self.lower[None, :], self.upper[None, :]
                least = positive @ self.lower + negative @ self.upper
                most = positive @ self.upper + negative @ self.lower
                # Activity of a row without variable j, at its least and most.
                own_least = np.where(matrix > 0, matrix * lb, matrix * ub)
                own_most = np.where(matrix > 0, matrix * ub, matrix * lb)
                rest_least = least[:, None] - own_least
                rest_most = most[:, None] - own_most
                # a_j x_j <= high - rest_least and a_j x_j >= low - rest_most.
                top = (high - rest_least) / safe
                bottom = (low - rest_most) / safe
                upper_bound = np.where(matrix > 0, top, bottom)
                lower_bound = np.where(matrix > 0, bottom, top)
                upper_bound = np.where(nonzero & np.isfinite(upper_bound), upper_bound, np.inf)
                lower_bound = np.where(nonzero & np.isfinite(lower_bound), lower_bound, -np.inf)
                new_upper = upper_bound.min(axis=0)
                new_lower = lower_bound.max(axis=0)
                new_upper = np.floor(new_upper + 1e-6 * np.maximum(1.0, np.abs(new_upper)))
                new_lower = np.ceil(new_lower - 1e-6 * np.maximum(1.0, np.abs(new_lower)))
                tighter_upper = np.minimum(self.upper, new_upper)
                tighter_lower = np.maximum(self.lower, new_lower)
                if np.any(tighter_lower > tighter_upper):
                    raise InconsistentPublication("no integer table fits the published figures")
                if np.array_equal(tighter_upper, self.upper) and np.array_equal(
                    tighter_lower, self.lower
                ):
                    break
                self.upper, self.lower = tighter_upper, tighter_lower

    def _tighten(self, rows: list[_Row], wide: float = _WIDE_BOX) -> None:
        """Tighten the boxes wider than ``wide`` to the LP relaxation's bounds, rounded
        inwards to integers (sound: every integer solution lies within them). Wide boxes
        are cells that propagation bounds poorly (a withheld "all" with a free ``other``);
        the lattice reduction measures steps in box widths, so they matter."""
        candidates = np.flatnonzero(self.upper - self.lower > wide)
        if not rows or not len(candidates):
            return
        matrix = np.zeros((len(rows), self.size))
        for r, row in enumerate(rows):
            for j, a in row.coefficients.items():
                matrix[r, j] = a
        low = np.array([row.lower for row in rows])
        high = np.array([row.upper for row in rows])
        a_ub = np.vstack([matrix[np.isfinite(high)], -matrix[np.isfinite(low)]])
        b_ub = np.concatenate([high[np.isfinite(high)], -low[np.isfinite(low)]])
        for j in candidates:
            for direction in (1.0, -1.0):
                objective = np.zeros(self.size)
                objective[j] = direction
                result = linprog(
                    objective,
                    A_ub=a_ub,
                    b_ub=b_ub,
                    bounds=np.column_stack([self.lower, self.upper]),
                    method="highs",
                )
                if result.status != 0:
                    continue  # infeasibility is reported by the integer program
                value = direction * result.fun
                slack = 1e-6 * max(1.0, abs(value))
                if direction > 0:
                    self.lower[j] = max(self.lower[j], math.ceil(value - slack))
                else:
                    self.upper[j] = min(self.upper[j], math.floor(value + slack))

    def point(self, lam: np.ndarray) -> np.ndarray:
        """The integer cell values of an integer solution ``lam``."""
        return self.origin + self.basis @ np.rint(lam).astype(np.int64)


@dataclass
class _Outcome:
    ranges: dict[Cell, tuple[int, int]] = field(default_factory=dict)
    witnessed: dict[Cell, tuple[int, int]] = field(default_factory=dict)
    unresolved: list[Cell] = field(default_factory=list)
    solves: int = 0


class _Budget:
    """The time left, shared fairly among the solves still to come."""

    def __init__(self, deadline: float | None, pending: int) -> None:
        self.deadline = deadline
        self.pending = max(pending, 1)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_limit(self, shares: float = 1.0) -> float | None:
        """Seconds for the next solve: ``shares`` equal shares of what is left (at least
        0.05 s)."""
        if self.deadline is None:
            return None
        left = max(self.deadline - time.monotonic(), 0.0)
        return min(left, max(shares * left / self.pending, 0.05))

    def done(self, solves: int = 1) -> None:
        self.pending = max(self.pending - solves, 1)


class _Block:
    """Minimises and maximises the target cells of one block of cells over its integer
    solutions, one model reused for every objective."""

    def __init__(
        self,
        model: _Model,
        variables: list[int],
        constraint_rows: list[int],
        targets: list[Cell],
        budget: _Budget,
        outcome: _Outcome,
    ) -> None:
        local = {j: k for k, j in enumerate(variables)}
        self.targets = {cell: local[model.index[cell]] for cell in targets}
        self.space = _Space(model, variables, constraint_rows)
        self.budget, self.outcome = budget, outcome
        self.seen_min = np.full(self.space.size, np.inf)
        self.seen_max = np.full(self.space.size, -np.inf)
        # (cell, direction) -> (value, proven); direction 1 is the least value, -1 the greatest.
        self.extremes: dict[tuple[Cell, int], tuple[int, bool]] = {}

    def see(self, lam: np.ndarray | None) -> None:
        if lam is not None:
            point = self.space.point(lam)
            np.minimum(self.seen_min, point, out=self.seen_min)
            np.maximum(self.seen_max, point, out=self.seen_max)

    def solve(self, objective: np.ndarray, shares: float = 1.0) -> Any:
        options: dict[str, Any] = {"mip_rel_gap": 0.0}
        limit = self.budget.next_limit(shares)
        if limit is not None:
            options["time_limit"] = limit
        self.outcome.solves += 1
        self.budget.done()
        result = milp(
            objective,
            integrality=self.space.integrality,
            bounds=self.space.bounds,
            constraints=self.space.constraints,
            options=options,
        )
        self.see(result.x)
        return result

    def start(self) -> None:
        """Find a first solution and move the origin to it."""
        width = self.space.basis.shape[1]
        if width == 0:
            self.see(np.zeros(0))
            self.budget.done()
            return
        # The first solution is worth more time: every later solve starts from it.
        first = self.solve(np.zeros(width), shares=min(10.0, 1.0 + len(self.targets)))
        if first.status == 2:
            raise InconsistentPublication(
                "no non-negative integer table fits the published figures; involved: "
                + "; ".join(self.space.what[:5])
            )
        if first.x is not None:
            # Solutions are now near lam = 0, which the solver tries first.
            self.space.recentre(self.space.point(first.x))

    def settle(self, cell: Cell, direction: int) -> None:
        """The least (``direction`` 1) or greatest (-1) value of ``cell``, proven if the
        budget allows; otherwise a sound bound (the solver's dual bound, or the box)."""
        space, k = self.space, self.targets[cell]
        if direction == 1:
            box, seen = space.lower[k], self.seen_min[k]
        else:
            box, seen = space.upper[k], self.seen_max[k]
        row = space.basis[k]
        if seen == box or not row.any():
            # Attained by a solution already found, or fixed.
            self.budget.done()
            value = box if row.any() else space.origin[k]
            self.extremes[(cell, direction)] = (int(value), True)
            return
        if self.budget.expired():
            self.budget.done()
            self.extremes.setdefault((cell, direction), (int(box), False))
            return
        result = self.solve(direction * row.astype(float))
        if result.status == 0 and result.x is not None:
            self.extremes[(cell, direction)] = (int(space.point(result.x)[k]), True)
            return
        value = box
        bound = getattr(result, "mip_dual_bound", None)
        if bound is not None and np.isfinite(bound):
            if direction == 1:
                value = max(math.ceil(space.origin[k] + bound - 1e-6), box)
            else:
                value = min(math.floor(space.origin[k] - bound + 1e-6), box)
        # Never inside the values already seen (only numerical trouble could put it there).
        value = min(value, seen) if direction == 1 else max(value, seen)
        previous = self.extremes.get((cell, direction))
        if previous is not None:  # keep the tighter of two sound bounds
            value = max(value, previous[0]) if direction == 1 else min(value, previous[0])
        self.extremes[(cell, direction)] = (int(value), False)

    def unsettled(self) -> list[tuple[Cell, int]]:
        return [key for key, (_, proven) in self.extremes.items() if not proven]

    def report(self) -> None:
        for cell, k in self.targets.items():
            low, low_proven = self.extremes[(cell, 1)]
            high, high_proven = self.extremes[(cell, -1)]
            self.outcome.ranges[cell] = (low, high)
            if np.isfinite(self.seen_min[k]):
                self.outcome.witnessed[cell] = (int(self.seen_min[k]), int(self.seen_max[k]))
            if not (low_proven and high_proven):
                self.outcome.unresolved.append(cell)


def attack(
    rows: Sequence[Mapping[str, Any]],
    sector: Sequence[Mapping[str, Any]],
    students: Mapping[str, int],
    known: Mapping[Cell, int] | None = None,
    misconduct: str = "MIS",
    mean_decimals: int | None = None,
    time_limit: float | None = None,
    *,
    upper_bound: int = 10**6,
    same_period: Sequence[float] = (),
) -> AttackResult:
    """Recover what can be recovered of the withheld counts of one school year.

    ``rows``: the research API's rows (``institution``, ``group``, ``victim_role``, ``count``,
    ``students``, ``suppressed``). ``sector``: the sector figures per group and role
    (``institutions``, ``mean_rate``, ``pooled_count``; ``None`` = withheld). ``students``:
    DUO's public student number per BRIN. ``known``: counts the attacker knows exactly, such as
    a coordinator's own institution; those cells are constants and not reported.
    ``misconduct``: the category that equals ``misdragingen``. ``mean_decimals``: the number of
    decimals the mean rates are published with (``None``: full float precision).
    ``time_limit``: seconds for the whole attack, shared equally among the solves still to
    come; a solve cut short leaves a sound outer range (see ``AttackResult.unresolved``).
    Without a limit every range is exact, however long that takes: a mean published at full
    precision over many withheld cells is a hard lattice problem (see ``_Space``).
    ``upper_bound``: an upper bound on every count, only to keep the programs bounded.
    ``same_period``: figure 5.1's same-period means of the year (total, all victims), at the
    month ends published, oldest first: the mean of ``1000 * count up to that day /
    students`` over the institutions of the year's total mean. Each adds unknown counts per
    institution (at least 0, not decreasing, at most its yearly total) and one equation.

    Every withheld cell's range is found by minimising and maximising it over all non-negative
    integer tables consistent with the publication (one model per independent block of cells,
    reused for every objective). Raises :class:`InconsistentPublication` when no table fits.
    """
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    model = _build(
        rows, sector, students, dict(known or {}), misconduct, mean_decimals, upper_bound
    )
    _add_same_period(model, rows, sector, students, same_period, mean_decimals)
    targets_of: dict[int, list[Cell]] = defaultdict(list)
    components = _components(model)
    block_of = {}
    for number, (variables, _) in enumerate(components):
        for j in variables:
            block_of[j] = number
    for cell in model.targets:
        targets_of[block_of[model.index[cell]]].append(cell)
    outcome = _Outcome()
    budget = _Budget(deadline, sum(2 * len(cells) + 1 for cells in targets_of.values()))
    blocks = []
    for number, (variables, constraint_rows) in enumerate(components):
        if not targets_of.get(number):
            continue
        block = _Block(model, variables, constraint_rows, targets_of[number], budget, outcome)
        block.start()
        # Maximise first: the maximum of one cell usually pushes its neighbours to their
        # minimum, so most minimisations are then settled by a solution already seen.
        for direction in (-1, 1):
            for cell in targets_of[number]:
                block.settle(cell, direction)
        blocks.append(block)
    # Time left over (solves that finished early) goes to the extremes cut short.
    retries = [(block, key) for block in blocks for key in block.unsettled()]
    if retries and not budget.expired():
        budget.pending = len(retries)
        for block, (cell, direction) in retries:
            block.settle(cell, direction)
    for block in blocks:
        block.report()
    return AttackResult(
        ranges=dict(sorted(outcome.ranges.items())),
        witnessed=dict(sorted(outcome.witnessed.items())),
        exact=not outcome.unresolved,
        unresolved=tuple(sorted(outcome.unresolved)),
        solves=outcome.solves,
        seconds=time.monotonic() - started,
    )


# --------------------------------------------------------------------------------------------
# Figure 5.3: unnamed institutions on dashboards
# --------------------------------------------------------------------------------------------

_SIZE_CLASSES = {
    "<4000": (0, 3999),
    "4000-15000": (4000, 15000),
    ">15000": (15001, math.inf),
}


def _size_class_bounds(size_class: str) -> tuple[float, float]:
    key = size_class.replace(" ", "").replace("\u2013", "-").replace(".", "")
    if key not in _SIZE_CLASSES:
        raise ValueError(
            f"unknown size class {size_class!r}; expected one of {list(_SIZE_CLASSES)}"
        )
    return _SIZE_CLASSES[key]


@lru_cache(maxsize=65536)
def garwood_interval(count: int) -> tuple[float, float]:
    """The exact (Garwood) 95% Poisson interval of ``count`` events, in events."""
    lower = 0.0 if count == 0 else float(chi2.ppf(0.025, 2 * count)) / 2
    upper = float(chi2.ppf(0.975, 2 * count + 2)) / 2
    return lower, upper


def _matches(value: float, published: float, decimals: int | None) -> bool:
    """Whether ``value`` can be published as ``published``: equal at full precision, or
    rounding to it with ``decimals`` decimals under any rounding rule for ties."""
    if decimals is None:
        return abs(value - published) <= 1e-9 * max(1.0, abs(published))
    return abs(value - published) <= 0.5 * 10.0**-decimals + 1e-9 * max(1.0, abs(published))


@dataclass(frozen=True)
class InvertedRow:
    """The (count, students) pairs consistent with one anonymous row.

    ``counts`` is ``None`` when nothing published constrains the count (no rate, no count).
    """

    counts: frozenset[int] | None
    denominators: frozenset[int]
    pairs: frozenset[tuple[int, int]] | None
    count_published: bool = False
    students_published: bool = False

    @property
    def count_recovered(self) -> bool:
        return self.counts is not None and len(self.counts) == 1

    @property
    def denominator_recovered(self) -> bool:
        return len(self.denominators) == 1


def invert_anonymous_rows(
    rows: Sequence[Mapping[str, Any]],
    students_pool: Sequence[int],
    decimals: int | None = None,
) -> list[InvertedRow]:
    """Invert dashboard rows of unnamed institutions against DUO's student numbers.

    For each row, every pair (count ``c >= 0``, ``S`` from ``students_pool``, within the row's
    ``size_class`` when given) is kept when ``1000 * c / S`` rounds to ``rate_per_1000`` and,
    when ``ci_low``/``ci_high`` are given, the exact Poisson 95% interval of ``c`` times
    ``1000 / S`` rounds to them (``decimals`` decimals; ``None`` = published at full float
    precision). A published ``count`` or ``students`` fixes that side. Rounding is accepted
    under any rule for ties, so the true pair is never dropped.
    """
    pool = sorted({int(s) for s in students_pool if s and s > 0})
    results: list[InvertedRow] = []
    for row in rows:
        rate = row.get("rate_per_1000")
        ci_low, ci_high = row.get("ci_low"), row.get("ci_high")
        count, published_students = row.get("count"), row.get("students")
        if published_students is not None:
            candidates_s = [int(published_students)]
        else:
            candidates_s = pool
            if row.get("size_class"):
                smallest, largest = _size_class_bounds(row["size_class"])
                candidates_s = [s for s in pool if smallest <= s <= largest]
        if rate is None and count is None:
            results.append(
                InvertedRow(
                    counts=None,
                    denominators=frozenset(candidates_s),
                    pairs=None,
                    students_published=published_students is not None,
                )
            )
            continue
        half = 0.0 if decimals is None else 0.5 * 10.0**-decimals
        pairs: set[tuple[int, int]] = set()
        for s in candidates_s:
            if count is not None:
                options: Iterable[int] = [int(count)]
            else:
                slack = 1e-9 * max(1.0, abs(rate))
                first = max(0, math.ceil(s * (rate - half - slack) / 1000))
                last = math.floor(s * (rate + half + slack) / 1000)
                options = range(first, last + 1)
            for c in options:
                if rate is not None and not _matches(1000 * c / s, rate, decimals):
                    continue
                if ci_low is not None or ci_high is not None:
                    low, high = garwood_interval(c)
                    if ci_low is not None and not _matches(1000 * low / s, ci_low, decimals):
                        continue
                    if ci_high is not None and not _matches(1000 * high / s, ci_high, decimals):
                        continue
                pairs.add((c, s))
        results.append(
            InvertedRow(
                counts=frozenset(c for c, _ in pairs),
                denominators=frozenset(s for _, s in pairs),
                pairs=frozenset(pairs),
                count_published=count is not None,
                students_published=published_students is not None,
            )
        )
    return results


@dataclass(frozen=True)
class InversionSummary:
    """How many anonymous rows gave away their count or their student number.

    ``counts_recovered``/``denominators_recovered`` count every row where exactly one value is
    consistent; the ``withheld_*`` fields only those where that value was not published.
    """

    rows: int
    counts_recovered: int
    denominators_recovered: int
    either_recovered: int
    withheld_counts_recovered: int
    withheld_denominators_recovered: int


def summarize_inversion(results: Sequence[InvertedRow]) -> InversionSummary:
    """Totals over :func:`invert_anonymous_rows`' answer."""
    return InversionSummary(
        rows=len(results),
        counts_recovered=sum(r.count_recovered for r in results),
        denominators_recovered=sum(r.denominator_recovered for r in results),
        either_recovered=sum(r.count_recovered or r.denominator_recovered for r in results),
        withheld_counts_recovered=sum(r.count_recovered and not r.count_published for r in results),
        withheld_denominators_recovered=sum(
            r.denominator_recovered and not r.students_published for r in results
        ),
    )
