"""Synthetic sectors for the disclosure tests: consistent counts of the fixed groups, and a
realistic sector of many institutions (student counts and rates in the ranges of the DUO
open data and the report's table 5.1), reproducible from a seed."""

from __future__ import annotations

import numpy as np

from reporting import disclosure as d

CATEGORIES = ["MIS", "ONG", "BRA", "MIL"]


def miv_counts(raw: dict[tuple[int, str, str], int]) -> dict[tuple[int, str, str], int]:
    """Consistent counts of the fixed groups from category × (student, staff, other)."""
    institutions = sorted({inst for inst, *_ in raw})
    counts = {}
    for inst in institutions:
        for cat in CATEGORIES:
            student = raw.get((inst, cat, "student"), 0)
            staff = raw.get((inst, cat, "staff"), 0)
            other = raw.get((inst, cat, "other"), 0)
            counts[(inst, cat, "student")] = student
            counts[(inst, cat, "staff")] = staff
            counts[(inst, cat, "all")] = student + staff + other
        for role in ("all", "student", "staff"):
            counts[(inst, "misdragingen", role)] = counts[(inst, "MIS", role)]
            accidents = sum(counts[(inst, c, role)] for c in CATEGORIES[1:])
            counts[(inst, "ongevallen", role)] = accidents
            counts[(inst, "total", role)] = (
                counts[(inst, "misdragingen", role)] + counts[(inst, "ongevallen", role)]
            )
    return counts


def miv_table(raw, students) -> d.Table:
    return d.figures_table(miv_counts(raw), students, d.miv_group_lines(CATEGORIES))


def synthetic_sector(
    institutions: int = 60, seed: int = 2026
) -> tuple[dict[tuple[int, str, str], int], dict[int, int]]:
    """Counts (institution, group, role) and student counts of a sector: student numbers
    log-normal between a few hundred and 40,000 (MBO institutions), about 25 incidents per
    1,000 students a year, 40 % misconduct, victims mostly students, some staff, some
    visitors or none; a few institutions register little (the small counts)."""
    rng = np.random.default_rng(seed)
    students = {}
    raw = {}
    shares = {"MIS": 0.4, "ONG": 0.35, "BRA": 0.1, "MIL": 0.15}
    for inst in range(1, institutions + 1):
        size = int(np.clip(rng.lognormal(np.log(7000), 0.9), 300, 40000))
        students[inst] = size
        rate = rng.gamma(4.0, 25.0 / 4.0) * (0.15 if rng.random() < 0.15 else 1.0)
        for category, share in shares.items():
            expected = size / 1000 * rate * share
            count = int(rng.poisson(expected))
            staff = int(rng.binomial(count, 0.15))
            other = int(rng.binomial(count - staff, 0.1))
            raw[(inst, category, "student")] = count - staff - other
            raw[(inst, category, "staff")] = staff
            raw[(inst, category, "other")] = other
    return miv_counts(raw), students
