"""Issue 11: audit.secure on random small tables, checked by a brute-force attacker.

Tables of 2-3 institutions x 2-3 groups with institution totals, sector totals per group and a
grand total (the shape of MIV's sector lines, without the mean). After :func:`audit.secure`,
an attacker who enumerates *every* integer assignment of the withheld cells (no solver, no
code of MIV's) consistent with the published lines, each withheld count at least 1 and at
most the table's largest count (the audit's documented bound), finds for the outside reader
and for each institution's coordinator (who knows their own row) every withheld cell at
least ``level`` wide, unless ``secure`` reported it exposed. Every count in (0, k) is
withheld."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reporting import audit
from reporting import disclosure as d

K, LEVEL = 3, 2
TOTAL, SECTOR = "total", "sector"


def build(counts: list[list[int]]) -> d.Table:
    rows, columns = range(len(counts)), range(len(counts[0]))
    values = {(r, c): counts[r][c] for r in rows for c in columns}
    values |= {(r, TOTAL): sum(counts[r]) for r in rows}
    values |= {(SECTOR, c): sum(counts[r][c] for r in rows) for c in columns}
    values[(SECTOR, TOTAL)] = sum(sum(row) for row in counts)
    lines = [d.Line((r, TOTAL), tuple((r, c) for c in columns)) for r in rows]
    lines += [d.Line((SECTOR, c), tuple((r, c) for r in rows)) for c in columns]
    lines.append(d.Line((SECTOR, TOTAL), tuple((r, TOTAL) for r in rows)))
    lines.append(d.Line((SECTOR, TOTAL), tuple((SECTOR, c) for c in columns)))
    return d.Table(values=values, lines=tuple(lines))


def brute_force_ranges(table: d.Table, withheld, known) -> dict:
    """Min and max of each unknown withheld cell over every consistent assignment
    (depth-first, a line is checked as soon as all its cells have a value)."""
    unknown = sorted((key for key in withheld if key not in known), key=str)
    fixed = {key: value for key, value in table.values.items() if key not in unknown}
    bound = max(table.values.values())
    lines_of = {key: [line for line in table.lines if key in line.cells] for key in unknown}
    ranges = {key: [None, None] for key in unknown}
    assignment = dict(fixed)

    def consistent(key) -> bool:
        for line in lines_of[key]:
            if all(cell in assignment for cell in line.cells):
                if assignment[line.total] != sum(assignment[p] for p in line.parts):
                    return False
        return True

    def search(index: int) -> None:
        if index == len(unknown):
            for key in unknown:
                lo, hi = ranges[key]
                value = assignment[key]
                ranges[key] = [value if lo is None else min(lo, value), max(hi or value, value)]
            return
        key = unknown[index]
        for value in range(1, bound + 1):
            assignment[key] = value
            if consistent(key):
                search(index + 1)
            del assignment[key]

    search(0)
    return {key: tuple(r) for key, r in ranges.items()}


tables = st.integers(2, 3).flatmap(
    lambda rows: st.integers(2, 3).flatmap(
        lambda columns: st.lists(
            st.lists(st.integers(0, 6), min_size=columns, max_size=columns),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_secure_leaves_every_withheld_cell_wide_for_every_reader(counts):
    table = build(counts)
    rows = range(len(counts))
    readers = {r: [key for key in table.values if key[0] == r] for r in rows}
    secured = audit.secure(
        table, K, LEVEL, contributor=lambda key: key[0], readers=readers, budget_seconds=30
    )
    assume(not secured.timed_out)
    withheld = secured.protection.suppressed
    assume(len(withheld) <= 9)  # the enumeration stays small
    for key, value in table.values.items():
        if 0 < value < K:
            assert key in withheld, key
    for reader, known in [(None, ()), *readers.items()]:
        for key, (lo, hi) in brute_force_ranges(table, withheld, set(known)).items():
            assert lo is not None  # the true values are a solution
            assert lo <= table.values[key] <= hi
            if key not in secured.exposed:
                assert hi - lo >= LEVEL, (reader, key, lo, hi, counts)
