"""Disclosure control for published figures: one policy, one function (:func:`protect`).

No Django here (numpy only), so the policy can be read, tested and reasoned about on its
own. :mod:`reporting.protection` builds the table of a school year from the stored figures
and applies the result to every reader (research API and its CSV, ``figures/*``, dashboards).

The policy
----------
* **Primary suppression.** A published count ``0 < count < k`` (``MIV_DISCLOSURE_K``,
  default 5) is suppressed: count, rate and interval are withheld and the row says
  ``suppressed``. Zero is published: "nothing happened" identifies no one.
* **Secondary suppression.** Where published cells add up to a published total, enough
  further cells are suppressed that no suppressed count can be recovered by subtraction.

The model
---------
The published table is a set of **cells** (an integer count each) and **lines**: a line says
``total = Σ weight·part``. For the MIV figures of one school year
(:func:`figures_table`):

* cells: institution × group × victim role, for the fixed groups researchers may query
  (``total``, ``misdragingen``, ``ongevallen`` and each category) and the roles ``all``,
  ``student``, ``staff``; plus one **residual** cell ``other`` per institution and group
  (visitor, no victim, unknown) that is never published; plus one **sector** cell per group
  and role (the pooled count of the sector endpoints).
* lines, per institution and role: ``total = misdragingen + ongevallen``,
  ``misdragingen = MIS``, ``ongevallen = the other categories``, ``total = Σ categories``;
  per institution and group: ``all = student + staff + other``; per group and role: the
  sector cell = Σ institutions (the pooled count), and the sector **mean of rates**, a line
  with weights 1/students (the denominators are published, so the unweighted mean is a
  linear equation in the counts too); the same group and role lines for the sector cells.

A cell is *unknown* to the reader when it is suppressed or never published and its count
is positive. Cells with count 0 are treated as *known* even when unpublished: a reader who
guesses "zero" would be right, so a zero never protects anything (this is what makes the
test "no suppressed cell equals its line total minus the published cells" hold).

The algorithm iterates two checks until neither adds a suppression:

1. **The line rule** (the classic one): every line has 0 or at least 2 unknown cells when
   one of them is a suppressed cell. A line with exactly one unknown suppressed cell gets
   one more suppression: the published positive cell of that line with the smallest count
   (sector cells only as a last resort; cells of ``all``/``total`` after finer ones).
2. **An exact linear audit**: the line rule looks at one line at a time, but lines can be
   combined (two 2×2 blocks of suppressions joined by a "bridge" cell let that cell be
   computed from row and column sums). With the unknown cells as variables and every line
   as an equation, a suppressed cell is determined exactly iff its unit vector lies in the
   row space of the equations, i.e. its row of the null-space basis is zero (one SVD per
   round). Each determined cell gets one more suppression in one of its lines.

``known`` cells model a reader who knows some cells already (a coordinator knows their own
institution's counts): they are never suppressed for that reader, count as published in
both checks, and the other cells are protected against that knowledge. So do the cells
that follow from known cells and zeros alone (a sector count made of the reader's own
institution only): they tell that reader nothing new.

Known limits (documented, not modelled here)
--------------------------------------------
* **Integer and bound attacks.** The audit here is exact over the reals. Counts are
  non-negative integers: an equation with two or three small unknowns and distinct
  weights (the mean line) may still have a single integer solution. That attacker is
  modelled in :mod:`reporting.audit`, which adds suppressions (``also``) until every
  withheld cell keeps a range of at least the protection level.
* **Non-linear statistics.** The sector t-interval reveals the standard deviation (a sum
  of squares), and the median, minimum and maximum are order statistics. They are not
  lines; the caller withholds them whenever the sector line holds a suppressed cell (see
  :mod:`reporting.protection`), as it withholds a correlation whose points include one.
* **The residual ``other`` is not protected itself.** It is never published, so it
  protects suppressed student/staff cells, but when ``all``, ``student`` and ``staff`` are
  all published the reader can compute it. The policy protects the dimensions MIV
  publishes (student and staff victims), not the residual.
* **Collusion and outside knowledge.** Two readers who pool what each knows (two
  coordinators) are not modelled; nor is knowledge from outside MIV. Pseudonyms do not
  hide identity from someone who can match exact DUO student counts.

Size (over 500 lines, on purpose): the disclosure rules are one argument, from the
threshold k to the limits above; split, a reader would have to hold two modules to
check one rule.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

Key = Hashable

# Victim roles of the figures, and the never-published residual.
ALL, STUDENT, STAFF, OTHER = "all", "student", "staff", "other"
PUBLISHED_ROLES = (ALL, STUDENT, STAFF)
ROLES = (ALL, STUDENT, STAFF, OTHER)
# The "institution" of sector cells (institution ids are positive).
SECTOR = 0

# Relative tolerance of the rank decisions in the linear audit.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Line:
    """Published cells that add up to a published total: ``total = Σ weight·part``.

    ``derived_total``: the line's published total is another statistic of the total cell
    (the sector *mean* of rates belongs to the sector cell): when that cell is suppressed,
    the statistic is withheld with it and the line says nothing.
    ``implied``: the line is a sum of other lines; the line rule checks it, the exact audit
    skips it (it adds nothing to the equations there).
    """

    total: Key
    parts: tuple[Key, ...]
    weights: tuple[float, ...] | None = None
    derived_total: bool = False
    implied: bool = False

    @property
    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)

    def weight(self, index: int) -> float:
        return 1.0 if self.weights is None else float(self.weights[index])


@dataclass(frozen=True)
class Table:
    """Cells with their counts, the lines between them, and the cells never published."""

    values: Mapping[Key, int]
    lines: tuple[Line, ...]
    never_published: frozenset[Key] = frozenset()


@dataclass(frozen=True)
class Protection:
    """The outcome: which cells are withheld, and why."""

    k: int
    primary: frozenset[Key]
    secondary: frozenset[Key]
    # Suppressed cells the algorithm could not protect (no candidate left in their lines).
    # Does not happen for MIV's tables (a line's total is always a candidate); reported
    # rather than hidden.
    unresolved: frozenset[Key] = frozenset()
    rounds: int = 0
    # What the reader knows: the ``known`` cells and what follows from them and zeros.
    known: frozenset[Key] = frozenset()

    @property
    def suppressed(self) -> frozenset[Key]:
        return self.primary | self.secondary

    def is_suppressed(self, key: Key) -> bool:
        return key in self.primary or key in self.secondary


def _default_cost(key: Key, value: int) -> tuple:
    return (value, str(key))


def protect(
    table: Table,
    k: int,
    *,
    known: Iterable[Key] = (),
    cost: Callable[[Key, int], tuple] | None = None,
    audit: bool = True,
    also: Iterable[Key] = (),
) -> Protection:
    """Primary and secondary suppression of ``table`` for a reader who already knows the
    ``known`` cells. ``cost(key, value)`` orders the candidates for secondary suppression
    (lowest first); ``audit=False`` applies the line rule only. ``also``: cells to suppress
    from the start as secondary suppressions (the integer audit's, :mod:`reporting.audit`)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    values = table.values
    known_set = _known_closure(table, frozenset(known) & frozenset(values))
    never = frozenset(table.never_published) - known_set
    rank = cost or _default_cost
    primary = {
        key
        for key, value in values.items()
        if 0 < value < k and key not in never and key not in known_set
    }
    suppressed: set[Key] = set(primary)
    secondary: set[Key] = {
        key
        for key in also
        if key in values and key not in primary and key not in never and key not in known_set
    }
    suppressed |= secondary
    unresolved: set[Key] = set()
    lines = table.lines
    lines_of: dict[Key, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        for key in line.cells:
            lines_of[key].append(index)

    def hidden(key: Key) -> bool:
        return key in suppressed or key in never

    def unknown(key: Key) -> bool:
        return hidden(key) and values.get(key, 0) > 0

    def candidate(key: Key) -> bool:
        return (
            key not in suppressed
            and key not in never
            and key not in known_set
            and values.get(key, 0) > 0
        )

    def by_cost(keys: Iterable[Key]) -> list[Key]:
        return sorted(keys, key=lambda key: rank(key, values[key]))

    def nearest_candidates(key: Key) -> list[Key]:
        """Candidates in the lines of ``key``, or, when those are all hidden, in the lines
        reached through their unknown cells (a derivation can only run through those),
        ring by ring; cheapest first."""
        seen_lines: set[int] = set()
        seen_cells = {key}
        frontier = {key}
        while frontier:
            ring = {index for cell in frontier for index in lines_of[cell]} - seen_lines
            seen_lines |= ring
            found = by_cost({c for index in ring for c in lines[index].cells if candidate(c)})
            if found:
                return found
            frontier = {c for index in ring for c in lines[index].cells if unknown(c)}
            frontier -= seen_cells
            seen_cells |= frontier
        return []

    def suppress(key: Key) -> None:
        suppressed.add(key)
        secondary.add(key)

    rounds = 0
    while True:
        rounds += 1
        # 1. The line rule, with a work list: a new suppression re-checks its lines.
        queue = deque(range(len(lines)))
        queued = set(queue)
        while queue:
            index = queue.popleft()
            queued.discard(index)
            line = lines[index]
            if line.derived_total and hidden(line.total):
                continue
            unknowns = [key for key in line.cells if unknown(key)]
            if len(unknowns) != 1 or unknowns[0] not in suppressed:
                continue
            choice = by_cost(key for key in line.cells if candidate(key))
            if not choice:
                unresolved.add(unknowns[0])
                continue
            suppress(choice[0])
            for other in lines_of[choice[0]]:
                if other not in queued:
                    queued.add(other)
                    queue.append(other)

        if not audit:
            break
        # 2. The exact audit over all lines at once.
        check = _Audit(lines, unknown, suppressed)
        determined = [key for key in by_cost(check.determined) if key not in unresolved]
        if not determined:
            break
        pool = by_cost(key for key in values if candidate(key))
        touched: set[int] = set()
        added = False
        for key in determined:
            if touched.intersection(lines_of[key]):
                # A suppression of this round already changed one of its lines: audit it
                # again next round rather than suppress a second cell for it now.
                continue
            best = next(
                (c for c in pool if c not in suppressed and check.breaks(key, c, lines_of)),
                None,
            )
            if best is None:
                # No single cell breaks the derivation (it takes two at once): suppress the
                # cheapest cell near it and audit again.
                best = next(iter(nearest_candidates(key)), None)
            if best is None:
                unresolved.add(key)
                continue
            suppress(best)
            touched.update(lines_of[best])
            added = True
        if not added:
            break
    if unresolved:
        # Cells given up on in an early round may have been protected by later
        # suppressions: report only those still exposed at the end.
        final = _Audit(lines, unknown, suppressed).determined if audit else set()
        unresolved = {
            key
            for key in unresolved
            if key in final
            or any(
                [c for c in lines[index].cells if unknown(c)] == [key]
                for index in lines_of[key]
                if not (lines[index].derived_total and hidden(lines[index].total))
            )
        }
    return Protection(
        k=k,
        primary=frozenset(primary),
        secondary=frozenset(secondary),
        unresolved=frozenset(unresolved),
        rounds=rounds,
        known=known_set,
    )


def _known_closure(table: Table, known: frozenset[Key]) -> frozenset[Key]:
    """The cells a reader who knows ``known`` can compute from them and the zeros alone
    (a sector count that is all their own institution's): withholding them from that
    reader would protect nothing, so they count as known to them."""
    if not known:
        return known
    values = table.values
    closure = set(known)
    changed = True
    while changed:
        changed = False
        for line in table.lines:
            if line.derived_total:
                continue
            open_cells = [c for c in line.cells if c not in closure and values.get(c, 0) != 0]
            if len(open_cells) == 1:
                closure.add(open_cells[0])
                changed = True
    return frozenset(closure)


def _null_space(vt: np.ndarray, rank: int, n: int) -> np.ndarray:
    """A basis of the null space (as rows) from the thin SVD's ``vt``: when the matrix has
    fewer rows than unknowns, ``vt`` lacks directions; complete it."""
    if vt.shape[0] == n:
        return vt[rank:]
    row_space = vt[:rank]
    # The complement of the row space: the left singular vectors of its projector's
    # complement, computed from a full QR of the row space basis.
    q, _ = np.linalg.qr(row_space.T, mode="complete")
    return q[:, rank:].T


class _Audit:
    """One round of the exact audit: the lines as equations over the unknown cells
    (published cells are constants), and their singular value decomposition.

    A suppressed cell *j* is determined iff its unit vector lies in the row space, i.e. its
    column of the null-space basis is zero. Suppressing one more cell *c* adds a column
    ``a`` to the equations; *j* stays determined iff some combination ``y`` of the lines
    with ``Aᵀy = e_j`` also has ``a·y = 0``. Such ``y`` are ``y₀ + z`` (``y₀`` the
    minimum-norm solution, ``z`` in the left null space), so *c* breaks the derivation
    exactly when ``a`` is orthogonal to the left null space and ``a·y₀ ≠ 0``.
    """

    def __init__(
        self, lines: Sequence[Line], unknown: Callable[[Key], bool], suppressed: set[Key]
    ) -> None:
        self.lines = lines
        variables = sorted({key for line in lines for key in line.cells if unknown(key)}, key=str)
        self.column = {key: j for j, key in enumerate(variables)}
        self.determined: set[Key] = set()
        if not variables or not (suppressed & set(variables)):
            return
        rows = []
        self.row_of_line: dict[int, int] = {}
        # Lines without unknown cells: a cell suppressed there would be computed from it.
        self.closed_lines: set[int] = set()
        self.scale: list[float] = []
        for index, line in enumerate(lines):
            if line.derived_total and unknown(line.total):
                continue  # the statistic is withheld with its cell: the line says nothing
            row = np.zeros(len(variables))
            if unknown(line.total):
                row[self.column[line.total]] -= 1.0
            for i, part in enumerate(line.parts):
                if unknown(part):
                    row[self.column[part]] += line.weight(i)
            norm = float(np.linalg.norm(row))
            if norm == 0:
                self.closed_lines.add(index)
                continue
            if line.implied:
                continue
            # Lines with weights 1/students next to lines of 1s: scale every row.
            self.row_of_line[index] = len(rows)
            self.scale.append(norm)
            rows.append(row / norm)
        matrix = np.array(rows)
        # The thin decomposition is enough: the left null space is only ever used through
        # its complement, the column space spanned by the first ``rank`` columns of ``u``.
        u, singular, vt = np.linalg.svd(matrix, full_matrices=False)
        tolerance = _TOLERANCE * max(matrix.shape) * (singular[0] if singular.size else 1.0)
        rank = int((singular > tolerance).sum())
        self._u, self._singular, self._vt, self._rank = u, singular, vt, rank
        # Rows of vt beyond the rank span the null space (vt is square here: the matrix has
        # at least as many lines as unknowns, or the thin vt has fewer rows and the
        # missing null-space directions are those of the zero singular values it lacks).
        null_space = _null_space(vt, rank, len(variables))
        spread = np.linalg.norm(null_space, axis=0) if null_space.shape[0] else None
        self.determined = {
            key
            for key, j in self.column.items()
            if key in suppressed and (spread is None or spread[j] < 1e-7)
        }
        self._y0: dict[Key, np.ndarray] = {}

    def _minimum_norm_combination(self, key: Key) -> np.ndarray:
        if key not in self._y0:
            r = self._rank
            j = self.column[key]
            self._y0[key] = self._u[:, :r] @ (self._vt[:r, j] / self._singular[:r])
        return self._y0[key]

    def breaks(self, key: Key, candidate: Key, lines_of: Mapping[Key, list[int]]) -> bool:
        """Whether also suppressing ``candidate`` makes ``key`` undetermined."""
        rows: list[int] = []
        entries: list[float] = []
        if self.closed_lines.intersection(lines_of[candidate]):
            return False  # it would be the only unknown of a line: computed, no help
        for index in lines_of[candidate]:
            line = self.lines[index]
            if line.derived_total and line.total == candidate:
                return True  # withholding the statistic removes a whole line
            row = self.row_of_line.get(index)
            if row is None:
                continue
            weight = -1.0 if line.total == candidate else line.weight(line.parts.index(candidate))
            rows.append(row)
            entries.append(weight / self.scale[row])
        if not rows:
            return False
        column = np.array(entries)
        # Orthogonal to the left null space = inside the column space: the projection onto
        # the column space keeps the whole length.
        projected = column @ self._u[rows, : self._rank]
        residual = float(column @ column) - float(projected @ projected)
        if residual > 1e-9 * float(column @ column):
            return False
        y0 = self._minimum_norm_combination(key)
        return abs(float(column @ y0[rows])) > 1e-9


# --- The MIV table -----------------------------------------------------------------------------


class Cell(NamedTuple):
    """A cell of the figures table: ``institution`` is an institution id, or ``SECTOR``."""

    institution: int
    group: str
    role: str


@dataclass(frozen=True)
class GroupLines:
    """How the fixed groups add up: ``(total, parts)`` pairs, e.g.
    ``("total", ("misdragingen", "ongevallen"))``."""

    sums: tuple[tuple[str, tuple[str, ...]], ...]
    groups: tuple[str, ...] = field(default=())
    # Positions in ``sums`` of lines that follow from the others.
    implied: frozenset[int] = frozenset()

    def all_groups(self) -> tuple[str, ...]:
        if self.groups:
            return self.groups
        seen: list[str] = []
        for total, parts in self.sums:
            for group in (total, *parts):
                if group not in seen:
                    seen.append(group)
        return tuple(seen)


def miv_group_lines(categories: Sequence[str], misconduct: str = "MIS") -> GroupLines:
    """The report's groups over the taxonomy's categories: total = misdragingen +
    ongevallen; misdragingen = the misconduct category; ongevallen = all other
    categories; total = all categories."""
    others = tuple(c for c in categories if c != misconduct)
    sums = [("total", ("misdragingen", "ongevallen")), ("total", tuple(categories))]
    if misconduct in categories:
        sums.append(("misdragingen", (misconduct,)))
    sums.append(("ongevallen", others))
    groups = ("total", "misdragingen", "ongevallen", *categories)
    # total = Σ categories follows from the other three when misconduct is a category.
    implied = frozenset({1}) if misconduct in categories else frozenset()
    return GroupLines(sums=tuple(sums), groups=groups, implied=implied)


def figures_table(
    counts: Mapping[tuple[int, str, str], int],
    students: Mapping[int, int],
    group_lines: GroupLines,
) -> Table:
    """The published table of one school year.

    ``counts``: ``(institution_id, group, role) -> count`` for every institution with a
    student count, every group of ``group_lines`` and the roles all, student and staff
    (missing entries count as 0). ``students``: the published denominators.
    """
    institutions = sorted(students)
    groups = group_lines.all_groups()
    values: dict[Key, int] = {}
    for inst in institutions:
        for group in groups:
            for role in PUBLISHED_ROLES:
                values[Cell(inst, group, role)] = int(counts.get((inst, group, role), 0))
            rest = (
                values[Cell(inst, group, ALL)]
                - values[Cell(inst, group, STUDENT)]
                - values[Cell(inst, group, STAFF)]
            )
            values[Cell(inst, group, OTHER)] = max(rest, 0)
    for group in groups:
        for role in ROLES:
            values[Cell(SECTOR, group, role)] = sum(
                values[Cell(inst, group, role)] for inst in institutions
            )

    lines: list[Line] = []
    for inst in [*institutions, SECTOR]:
        # The sector's own group and role lines are sums of the institutions' lines.
        sector = inst == SECTOR
        for role in ROLES:
            for n, (total, parts) in enumerate(group_lines.sums):
                lines.append(
                    Line(
                        Cell(inst, total, role),
                        tuple(Cell(inst, p, role) for p in parts),
                        implied=sector or n in group_lines.implied,
                    )
                )
        for group in groups:
            roles = tuple(Cell(inst, group, role) for role in (STUDENT, STAFF, OTHER))
            lines.append(Line(Cell(inst, group, ALL), roles, implied=sector))
    for group in groups:
        for role in ROLES:
            parts = tuple(Cell(inst, group, role) for inst in institutions)
            lines.append(Line(Cell(SECTOR, group, role), parts))
            if role != OTHER and institutions:
                # The unweighted mean of the rates: Σ count_i / students_i, a published
                # linear combination of the same cells.
                weights = tuple(1.0 / students[inst] for inst in institutions)
                lines.append(
                    Line(Cell(SECTOR, group, role), parts, weights=weights, derived_total=True)
                )
    never = frozenset(key for key in values if key.role == OTHER)
    return Table(values=values, lines=tuple(lines), never_published=never)


def figures_cost(key: Key, value: int) -> tuple:
    """Candidates for secondary suppression in the MIV table: institution cells before
    sector cells (the sector figures matter most), then the smallest count, then finer
    cells (a category, a victim role) before ``total`` and ``all``."""
    cell = key if isinstance(key, Cell) else None
    is_sector = cell is not None and cell.institution == SECTOR
    coarse = 0 if cell is None else (cell.group == "total") + (cell.role == ALL)
    return (is_sector, value, coarse, str(key))


def protect_figures(table: Table, k: int, *, known_institutions: Iterable[int] = ()) -> Protection:
    """:func:`protect` for a :func:`figures_table`; the cells of ``known_institutions``
    (a coordinator's own) are known to the reader."""
    own = set(known_institutions)
    known = [key for key in table.values if key.institution in own]
    return protect(table, k, known=known, cost=figures_cost)
