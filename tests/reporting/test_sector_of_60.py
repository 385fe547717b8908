"""Issue 11's reliability row on a synthetic sector of 60 institutions (about the size of
the MBO sector), with the small counts of institutions that register little.

The publication's own audit (:func:`reporting.publication._secure`, as the figures job
runs it, with the default time budget) secures the table of the synthetic sector of
:mod:`tests.reporting.sectors`. The outside reader's outputs are then written in the
shapes of the research API and the sector figures: per institution, group and victim
role the count unless withheld (``suppressed``) with the student number; per group and
role the pooled count and the mean rate rounded as published, both ``None`` when the
sector cell is withheld. The independent attacker (:mod:`tests.reporting.attacker`)
bounds every withheld cell as the outside reader and as the coordinators of the three
institutions with the most withheld cells (each knowing their own counts).

The test sector of ``test_attack.py`` goes through the real API and every coordinator;
this one is about size. It uses no database, so it runs once: in the run on SQLite
(``make test`` without ``DATABASE_URL``), not again in CI's PostgreSQL run.
"""

from __future__ import annotations

import os
import time

import pytest

from reporting import audit, publication
from reporting import disclosure as d
from tests.services.summary import record

from .attacker import attack
from .sectors import CATEGORIES, synthetic_sector

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="no database in this test: it runs in the run on SQLite only",
)

INSTITUTIONS = 60
ROLES = ("all", "student", "staff")


def brin(institution: int) -> str:
    return f"{institution:02d}ZZ"


def published_outputs(table: d.Table, withheld: frozenset, students: dict) -> tuple[list, list]:
    groups = d.miv_group_lines(CATEGORIES).all_groups()
    institutions = sorted(students)
    rows = []
    for institution in institutions:
        for group in groups:
            for role in ROLES:
                cell = d.Cell(institution, group, role)
                rows.append(
                    {
                        "institution": brin(institution),
                        "group": group,
                        "victim_role": role,
                        "count": None if cell in withheld else table.values[cell],
                        "suppressed": cell in withheld,
                        "students": students[institution],
                    }
                )
    sector = []
    for group in groups:
        for role in ROLES:
            cell = d.Cell(d.SECTOR, group, role)
            mean = audit.published_mean(
                [table.values[d.Cell(i, group, role)] for i in institutions],
                [1 / students[i] for i in institutions],
                audit.MEAN_DECIMALS,
            )
            hidden = cell in withheld
            sector.append(
                {
                    "group": group,
                    "victim_role": role,
                    "institutions": len(institutions),
                    "pooled_count": None if hidden else table.values[cell],
                    "mean_rate": None if hidden else mean,
                }
            )
    return rows, sector


def test_the_integer_attack_recovers_nothing_on_a_synthetic_sector_of_60():
    counts, students = synthetic_sector(INSTITUTIONS)
    table = d.figures_table(counts, students, d.miv_group_lines(CATEGORIES))
    k, level = publication.disclosure_k(), publication.protection_level()
    groups = d.miv_group_lines(CATEGORIES).all_groups()
    started = time.monotonic()
    secured = publication._secure(table, students, groups, "MIS", k, level)
    seconds = time.monotonic() - started
    withheld = secured.protection.suppressed
    cells = [key for key in table.values if key not in table.never_published]
    rows, sector = published_outputs(table, withheld, students)
    duo = {brin(i): n for i, n in students.items()}
    truth = {
        (brin(cell.institution), cell.group, cell.role): value
        for cell, value in table.values.items()
        if cell.role in ROLES and cell.institution != d.SECTOR
    }

    outside = attack(rows, sector, duo, mean_decimals=audit.MEAN_DECIMALS)
    narrow = [cell for cell, (lo, hi) in outside.ranges.items() if hi - lo < level]
    most = sorted(students, key=lambda i: (-sum(1 for c in withheld if c.institution == i), i))[:3]
    inside_narrow = 0
    inside_recovered = 0
    for institution in most:
        known = {cell: n for cell, n in truth.items() if cell[0] == brin(institution)}
        inside = attack(rows, sector, duo, known=known, mean_decimals=audit.MEAN_DECIMALS)
        inside_recovered += len(inside.recovered)
        inside_narrow += sum(1 for lo, hi in inside.ranges.values() if hi - lo < level)
    record(
        f"publication: synthetic sector of {INSTITUTIONS}",
        f"withheld {len(withheld)}/{len(cells)} cells ({100 * len(withheld) / len(cells):.0f} %), "
        f"audit {seconds:.0f} s in {secured.rounds} rounds; integer attack: outside reader "
        f"recovered {len(outside.recovered)}, narrower than {level}: {len(narrow)}; "
        f"3 coordinators with most withheld: recovered {inside_recovered}, narrower: "
        f"{inside_narrow}",
        failures=len(outside.recovered)
        + len(narrow)
        + inside_recovered
        + inside_narrow
        + secured.timed_out,
    )
    assert not secured.timed_out and not secured.exposed
    assert outside.exact and outside.unknown_cells == len(
        [c for c in withheld if c.institution != d.SECTOR]
    )
    for cell, (lo, hi) in outside.ranges.items():
        assert lo <= truth[cell] <= hi  # the attacker is sound
    assert outside.recovered == [] and narrow == []
    assert inside_recovered == 0 and inside_narrow == 0
