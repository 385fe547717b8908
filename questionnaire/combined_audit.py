"""Whether the number of institutions per band of provisions (figures 6.3 and 6.5) gives
away how many safety provisions an institution has: an integer program per institution, as
an attacker would solve it. Pure: no Django, no database.

What the attacker knows (decisions, all on the safe side): which institutions answered the
questionnaire and which have a survey score (the figures' points), their own institution's
number of provisions, the published sum of all provisions (figure 5.4 gives each
provision's number of *Ja* answers), and per figure the number of institutions in each band
of provisions (e.g. "4–5").

The unknowns are integers: ``z[i, v] = 1`` when institution ``i`` has ``v`` provisions
(v = 0 … 6). The secret protected is the *band* of each institution (band "6" is an exact
count): for every institution ``i`` and every attacker ``j`` (another institution that
knows its own count) there must be a solution of all published equations in which ``i``
is in another band than its true one. One program per institution finds a solution that
moves ``i`` and agrees with the truth everywhere it can, which covers most attackers at
once; the attackers it leaves uncovered get a program of their own. Solved with
``scipy.optimize.milp`` (HiGHS); seven binaries per institution.

Limits: statistics that are not linear (r, ρ, means of public scores per band) are not in
the program; they are not published to outside readers (:mod:`questionnaire.combined`,
where the attack that showed why is cited).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

VALUES = tuple(range(7))  # 0 … 6 provisions


@dataclass(frozen=True)
class PublishedBand:
    """One published band of a figure: its provision counts and number of institutions."""

    values: tuple[int, ...]  # e.g. (4, 5)
    n: int


@dataclass(frozen=True)
class PublishedFigure:
    points: Collection[Hashable]  # the institutions with a point in the figure
    bands: Sequence[PublishedBand]


@dataclass(frozen=True)
class AuditResult:
    protected: bool
    # (institution whose band is found, attacker or None when anyone finds it)
    determined: tuple[tuple[Hashable, Hashable | None], ...] = ()


def audit_bands(
    counts: Mapping[Hashable, int],
    figures: Sequence[PublishedFigure],
    bands: Sequence[tuple[int, ...]],
    total: int | None,
) -> AuditResult:
    """Whether every institution's band stays open to every other institution.

    ``counts``: each answering institution's true number of provisions; ``bands``: all
    bands (published or not), covering 0 … 6; ``total``: the published sum of the counts
    (None when it is not published)."""
    keys = sorted(counts, key=str)
    if not keys or not any(f.bands for f in figures):
        return AuditResult(True)
    index = {key: n for n, key in enumerate(keys)}
    size = len(keys) * len(VALUES)

    def var(key, value: int) -> int:
        return index[key] * len(VALUES) + value

    rows, lower, upper = [], [], []

    def add(coefficients: dict[int, float], low: float, high: float) -> None:
        row = np.zeros(size)
        for column, value in coefficients.items():
            row[column] += value
        rows.append(row)
        lower.append(low)
        upper.append(high)

    for key in keys:  # one count per institution
        add({var(key, v): 1.0 for v in VALUES}, 1, 1)
    for figure in figures:
        for band in figure.bands:
            members = {var(k, v): 1.0 for k in figure.points if k in index for v in band.values}
            add(members, band.n, band.n)
    if total is not None:
        add({var(k, v): float(v) for k in keys for v in VALUES}, total, total)
    base = np.array(rows)
    band_of = {v: tuple(b) for b in bands for v in b}
    truth = {key: var(key, counts[key]) for key in keys}

    def solve(extra: list[tuple[dict[int, float], float, float]], objective: np.ndarray):
        matrix, low, high = [base], list(lower), list(upper)
        for coefficients, lo, hi in extra:
            row = np.zeros(size)
            for column, value in coefficients.items():
                row[column] = value
            matrix.append(row[None, :])
            low.append(lo)
            high.append(hi)
        result = milp(
            objective,
            constraints=LinearConstraint(np.vstack(matrix), low, high),
            integrality=np.ones(size),
            bounds=Bounds(0, 1),
        )
        return result.x if result.status == 0 else None

    agreement = np.zeros(size)
    for column in truth.values():
        agreement[column] = -1.0  # milp minimises: maximise agreement with the truth
    determined: list[tuple[Hashable, Hashable | None]] = []
    for key in keys:
        own_band = {var(key, v): 1.0 for v in band_of[counts[key]]}
        moved = [(own_band, 0, 0)]
        solution = solve(moved, agreement)
        if solution is None:
            determined.append((key, None))
            continue
        for attacker in keys:
            if attacker == key or solution[truth[attacker]] > 0.5:
                continue
            fixed = moved + [({truth[attacker]: 1.0}, 1, 1)]
            if solve(fixed, np.zeros(size)) is None:
                determined.append((key, attacker))
    return AuditResult(not determined, tuple(determined))
