"""The reliability table printed at the end of a test run (issue 7's "Done when").

A test records one row per item it proves, *before* it asserts, so that a failing run
still shows its figure and failure count::

    from tests.services.summary import record
    record("load held", "2000 requests, 20 clients, 310 req/s, p95 85 ms", failures=0)

Rows are kept in the order they were first recorded; recording an item again replaces
its row (e.g. a parametrised test adds one row per parameter with distinct names). The
``pytest_terminal_summary`` hook in ``tests/conftest.py`` prints the table (in any run that
recorded a row).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    item: str
    figure: str
    failures: int


ROWS: dict[str, Row] = {}


def record(item: str, figure: str, *, failures: int) -> None:
    ROWS[item] = Row(item, figure, failures)


def render() -> list[str]:
    """The table as text lines (empty when nothing was recorded)."""
    if not ROWS:
        return []
    rows = list(ROWS.values())
    item_width = max(len("item"), *(len(r.item) for r in rows))
    figure_width = max(len("figure"), *(len(r.figure) for r in rows))
    line = f"{'item':<{item_width}} | {'figure':<{figure_width}} | failures"
    lines = [line, "-" * len(line)]
    lines += [f"{r.item:<{item_width}} | {r.figure:<{figure_width}} | {r.failures}" for r in rows]
    total = sum(r.failures for r in rows)
    lines.append(f"{len(rows)} items, {total} failures")
    return lines
