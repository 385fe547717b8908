"""Unit tests of the independent attacker (tests/reporting/attacker.py).

Pure tests: no database. The expected values are computed by hand in the comments.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from tests.reporting.attacker import (
    InconsistentPublication,
    attack,
    garwood_interval,
    invert_anonymous_rows,
    summarize_inversion,
)

# A small sector that publishes the two categories for all victims. Students (distinct):
# A 1000, B 2000, C 4000, D 5000, so the weights 1000/students are 1, 1/2, 1/4, 1/5.
STUDENTS = {"01AA": 1000, "02BB": 2000, "03CC": 4000, "04DD": 5000}
COUNTS = {
    "MIS": {"01AA": 2, "02BB": 4, "03CC": 10, "04DD": 5},
    "ONG": {"01AA": 7, "02BB": 12, "03CC": 20, "04DD": 9},
}
A, B, C = ("01AA", "MIS", "all"), ("02BB", "MIS", "all"), ("03CC", "MIS", "all")


def small_rows(withheld: set[tuple[str, str, str]]) -> list[dict]:
    return [
        {
            "institution": brin,
            "group": group,
            "victim_role": "all",
            "count": None if (brin, group, "all") in withheld else count,
            "students": STUDENTS[brin],
            "suppressed": (brin, group, "all") in withheld,
        }
        for group, per_institution in COUNTS.items()
        for brin, count in per_institution.items()
    ]


def small_sector(*, mean: bool = True) -> list[dict]:
    # MIS: pooled 2 + 4 + 10 + 5 = 21; mean (2/1 + 4/2 + 10/4 + 5/5) / 4 = 7.5 / 4 = 1.875.
    # ONG: pooled 48; mean (7 + 6 + 5 + 1.8) / 4 = 4.95.
    return [
        {
            "group": "MIS",
            "victim_role": "all",
            "institutions": 4,
            "mean_rate": 1.875 if mean else None,
            "pooled_count": 21,
        },
        {
            "group": "ONG",
            "victim_role": "all",
            "institutions": 4,
            "mean_rate": 4.95 if mean else None,
            "pooled_count": 48,
        },
    ]


def test_mean_of_rates_pins_a_small_count_and_its_complement():
    # Withheld A = x and B = y. Pooled: x + y = 21 - 10 - 5 = 6, so without the mean
    # x, y are in 1..5. Mean: x/1 + y/2 = 7.5 - 10/4 - 5/5 = 4, so 2x + y = 8, and with
    # x + y = 6 that leaves x = 2, y = 4: the true values.
    withheld = {A, B}
    pooled_only = attack(small_rows(withheld), small_sector(mean=False), STUDENTS)
    assert pooled_only.ranges == {A: (1, 5), B: (1, 5)}
    assert pooled_only.recovered == []

    result = attack(small_rows(withheld), small_sector(), STUDENTS)
    assert result.ranges == {A: (2, 2), B: (4, 4)}
    assert result.recovered == [A, B]
    assert result.exact and result.unknown_cells == 2
    assert result.narrower_than(5) == [A, B]


def test_third_withheld_cell_leaves_several_integer_solutions():
    # Withheld A = x, B = y, C = z. Pooled: x + y + z = 16. Mean: x + y/2 + z/4 = 6.5,
    # i.e. 4x + 2y + z = 26; minus the pool: 3x + y = 10. With every withheld count >= 1:
    # (x, y, z) = (1, 7, 8), (2, 4, 10) or (3, 1, 12).
    result = attack(small_rows({A, B, C}), small_sector(), STUDENTS)
    assert result.ranges == {A: (1, 3), B: (1, 7), C: (8, 12)}
    for cell, truth in ((A, 2), (B, 4), (C, 10)):
        lo, hi = result.ranges[cell]
        assert lo <= truth <= hi and lo < hi
    assert result.recovered == []
    assert result.narrower_than(3) == [C]  # C is at least 8
    assert result.exact


def test_coordinator_knowledge_narrows_a_range():
    # C's coordinator knows z = 10: then x + y = 6 and 2x + y = 8 as in the first test.
    rows, sector = small_rows({A, B, C}), small_sector()
    outsider = attack(rows, sector, STUDENTS)
    coordinator = attack(rows, sector, STUDENTS, known={C: 10})
    assert outsider.ranges[A] == (1, 3)
    assert coordinator.ranges == {A: (2, 2), B: (4, 4)}  # C is not unknown to them
    lo, hi = coordinator.ranges[A]
    assert outsider.ranges[A][0] <= lo <= hi <= outsider.ranges[A][1]
    assert hi - lo < outsider.ranges[A][1] - outsider.ranges[A][0]
    assert coordinator.unknown_cells == 2


def test_a_rounded_mean_pins_less():
    # Rounded to 1 decimal the MIS mean is 1.9: the sum of rates is 4 * (1.85..1.95) =
    # 7.4..7.8, so x + y/2 = 3 + x/2 (as y = 6 - x) is in 3.9..4.3: x in 1.8..2.6, still 2.
    # Rounded to whole numbers (2): the sum of rates is in 6..10, 3 + x/2 in 2.5..6.5,
    # x in -1..7, and with x, y >= 1 that is x in 1..5: no longer pinned.
    sector = small_sector()
    sector[0]["mean_rate"] = 1.9
    assert attack(small_rows({A, B}), sector, STUDENTS, mean_decimals=1).ranges[A] == (2, 2)
    sector[0]["mean_rate"] = 2.0
    assert attack(small_rows({A, B}), sector, STUDENTS, mean_decimals=0).ranges[A] == (1, 5)


def test_contradictory_publication_is_refused():
    sector = small_sector()
    sector[0]["pooled_count"] = 3  # less than the published 10 + 5
    with pytest.raises(InconsistentPublication):
        attack(small_rows({A, B}), sector, STUDENTS)


# --- Figure 5.3: anonymous rows ---------------------------------------------------------


def test_garwood_interval_matches_the_table():
    # Exact 95% Poisson interval of 3 events: 0.619 .. 8.767 (Garwood 1936).
    low, high = garwood_interval(3)
    assert low == pytest.approx(0.6187, abs=1e-4)
    assert high == pytest.approx(8.7673, abs=1e-4)
    assert garwood_interval(0) == (0.0, pytest.approx(3.6889, abs=1e-4))


def test_exact_interval_recovers_count_and_students_but_rounded_rate_does_not():
    pool = [1500, 3000, 6000, 9000, 12000]
    # 3 incidents at 3000 students: rate exactly 1.0, as are 6/6000, 9/9000 and 12/12000.
    rate = 1000 * 3 / 3000
    interval = {
        "ci_low": 1000 * (chi2.ppf(0.025, 6) / 2) / 3000,
        "ci_high": 1000 * (chi2.ppf(0.975, 8) / 2) / 3000,
    }
    anonymous = {"count": None, "students": None, "size_class": None}
    without, with_interval = invert_anonymous_rows(
        [
            {"rate_per_1000": rate, "ci_low": None, "ci_high": None, **anonymous},
            {"rate_per_1000": rate, **interval, **anonymous},
        ],
        pool,
    )
    assert without.counts == {3, 6, 9, 12} and not without.count_recovered
    # The interval's width depends on the count itself: only 3 fits.
    assert with_interval.counts == {3} and with_interval.count_recovered
    assert with_interval.denominators == {3000} and with_interval.denominator_recovered

    # Rounded to whole numbers per 1,000 without an interval, every S >= 1000 spans at least
    # one whole count: rate 2 means 1.5..2.5 per 1,000, i.e. S=1500: 3; S=2300: 4, 5;
    # S=5100: 8..12; S=12000: 18..30 -- and within "<4000" still 3, 4 or 5.
    rounded_pool = [1500, 2300, 5100, 12000]
    rows = [
        {"rate_per_1000": 2.0, "ci_low": None, "ci_high": None, **anonymous},
        {"rate_per_1000": 2.0, "ci_low": None, "ci_high": None, **anonymous, "size_class": "<4000"},
    ]
    everywhere, small = invert_anonymous_rows(rows, rounded_pool, decimals=0)
    assert everywhere.counts == {3, 4, 5, *range(8, 13), *range(18, 31)}
    assert small.counts == {3, 4, 5} and small.denominators == {1500, 2300}
    summary = summarize_inversion([everywhere, small])
    assert summary.rows == 2
    assert summary.counts_recovered == 0 and summary.denominators_recovered == 0
    assert summarize_inversion([without, with_interval]).withheld_counts_recovered == 1


# --- Property: the true value is always in its range ------------------------------------

ROLES = ("all", "student", "staff")


@st.composite
def publications(draw):
    """A random small, consistent year: counts, a withheld subset of the positive cells,
    the rest published with pooled counts and means (some withheld, some rounded)."""
    n = draw(st.integers(2, 4))
    categories = ["MIS", "ONG", "BRA"][: draw(st.integers(2, 3))]
    sizes = draw(st.lists(st.integers(300, 30000), min_size=n, max_size=n, unique=True))
    students = {f"{i:02d}XX": s for i, s in enumerate(sizes)}
    truth: dict[tuple[str, str, str], int] = {}
    for brin in students:
        for category in categories:
            student, staff, other = (draw(st.integers(0, 6)) for _ in range(3))
            truth[(brin, category, "student")] = student
            truth[(brin, category, "staff")] = staff
            truth[(brin, category, "all")] = student + staff + other
        for role in ROLES:
            truth[(brin, "misdragingen", role)] = truth[(brin, "MIS", role)]
            truth[(brin, "ongevallen", role)] = sum(truth[(brin, c, role)] for c in categories[1:])
            truth[(brin, "total", role)] = (
                truth[(brin, "misdragingen", role)] + truth[(brin, "ongevallen", role)]
            )
    cells = sorted(truth)
    share = draw(st.sampled_from([0.3, 0.6, 0.9]))
    withheld = {cell for cell in cells if truth[cell] > 0 and draw(st.floats(0, 1)) < share}
    decimals = draw(st.sampled_from([None, 1, 2]))
    sector = []
    for group in sorted({g for _, g, _ in cells}):
        for role in ROLES:
            rates = sum(1000 * truth[(b, group, role)] / s for b, s in students.items())
            mean = rates / n if decimals is None else round(rates / n, decimals)
            sector.append(
                {
                    "group": group,
                    "victim_role": role,
                    "institutions": n,
                    "mean_rate": mean if draw(st.booleans()) else None,
                    "pooled_count": (
                        sum(truth[(b, group, role)] for b in students)
                        if draw(st.booleans())
                        else None
                    ),
                }
            )
    rows = [
        {
            "institution": b,
            "group": g,
            "victim_role": r,
            "count": None if (b, g, r) in withheld else truth[(b, g, r)],
            "students": students[b],
            "suppressed": (b, g, r) in withheld,
        }
        for b, g, r in cells
    ]
    known = {cell: truth[cell] for cell in sorted(withheld) if draw(st.integers(0, 9)) == 0}
    return rows, sector, students, truth, withheld, known, decimals


@settings(max_examples=30, deadline=None)
@given(publications())
def test_result_always_contains_the_true_value(publication):
    rows, sector, students, truth, withheld, known, decimals = publication
    result = attack(rows, sector, students, known=known, mean_decimals=decimals)
    assert set(result.ranges) == withheld - set(known)
    assert result.exact
    for cell, (lo, hi) in result.ranges.items():
        assert 1 <= lo <= truth[cell] <= hi, cell
        seen_lo, seen_hi = result.witnessed[cell]
        assert lo <= seen_lo <= seen_hi <= hi
    for cell in result.recovered:
        assert result.ranges[cell] == (truth[cell], truth[cell])
