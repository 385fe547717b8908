"""Issue 11: the same period of every year (figure 5.1's comparison) as outside readers get
it: month ends only, and an integer audit checked here by a brute-force attacker.

The attacker knows every institution's yearly count and student count and collects every
published month-end mean (rounded to one decimal). Enumerating every monotone series of
counts up to the published month ends (no solver, no code of MIV's but the rounding), they
must find every count of 1 … k − 1 (an institution up to a month end, between two, or after
the last) at least ``level`` wide."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miv import clock
from reporting import engine, same_period
from reporting.models import FigureSet, SectorRate

from .conftest import add_incidents
from .world import PREVIOUS, YEAR

K, LEVEL = 5, 2


def test_month_ends_of_a_school_year():
    assert same_period.month_end("2023-2024", 0) == date(2023, 8, 31)
    assert same_period.month_end("2023-2024", 6) == date(2024, 2, 29)  # a leap year
    assert same_period.month_end("2022-2023", 6) == date(2023, 2, 28)
    assert same_period.month_end("2023-2024", 10) == date(2024, 6, 30)
    assert same_period.passed_months("2023-2024", date(2023, 11, 1)) == 3  # Aug, Sep, Oct
    assert same_period.passed_months("2023-2024", date(2023, 10, 31)) == 2
    assert same_period.passed_months("2023-2024", date(2023, 8, 15)) == 0
    assert same_period.passed_months("2023-2024", date(2025, 1, 1)) == 11


def mean(cumulative, students):
    """The published mean of rates, as the attacker computes it: 1000/n · Σ c/s, one decimal."""
    return round(
        1000 * sum(c / s for c, s in zip(cumulative, students, strict=True)) / len(students), 1
    )


def brute_force(monthly, students, shown):
    """Every value each institution's count up to each shown month end, between them and
    after the last can take, over all series consistent with the published means."""
    institutions = sorted(monthly)
    totals = [sum(monthly[i]) for i in institutions]
    weights = [students[i] for i in institutions]
    means = [mean([sum(monthly[i][: end + 1]) for i in institutions], weights) for end in shown]
    per_institution = [
        [c for c in itertools.combinations_with_replacement(range(total + 1), len(shown))]
        for total in totals
    ]
    seen: dict[tuple, set[int]] = {}
    for series in itertools.product(*per_institution):
        if any(mean([s[j] for s in series], weights) != means[j] for j in range(len(shown))):
            continue
        for n, s in enumerate(series):
            cuts = [0, *s, totals[n]]
            for j, value in enumerate(s):
                seen.setdefault((n, "through", j), set()).add(value)
            for j in range(len(cuts) - 1):
                seen.setdefault((n, "piece", j), set()).add(cuts[j + 1] - cuts[j])
    return seen


def true_values(monthly, shown):
    out = {}
    for n, i in enumerate(sorted(monthly)):
        cuts = [0, *(sum(monthly[i][: end + 1]) for end in shown), sum(monthly[i])]
        for j, end in enumerate(shown):
            out[(n, "through", j)] = sum(monthly[i][: end + 1])
        for j in range(len(cuts) - 1):
            out[(n, "piece", j)] = cuts[j + 1] - cuts[j]
    return out


def narrow_cells(monthly, students, shown):
    if not shown:
        return []  # the one piece is the whole year: its count is published
    seen = brute_force(monthly, students, shown)
    return [
        key
        for key, value in true_values(monthly, shown).items()
        if 0 < value < K and max(seen[key]) - min(seen[key]) < LEVEL
    ]


def test_a_month_end_that_names_an_institution_is_withheld():
    # Two institutions; one incident in August, at the smaller. The August mean
    # 1000/2 · (1/1000 + 0/2000) = 0.5 has only the solutions (1, 0) and (0, 2): the count
    # of 1 is 0 or 1, too narrow. Without the audit the attacker narrows it; with it the
    # August end is withheld and September's (2 and 4 by then) is kept.
    monthly = {1: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8], 2: [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]}
    students = {1: 1000, 2: 2000}
    assert narrow_cells(monthly, students, [0, 1])  # the control: all month ends shown
    published = same_period.secure_month_ends(monthly, students, 2, K, LEVEL)
    assert sorted(published) == [1]
    assert published[1] == mean([2, 4], [1000, 2000]) == 2.0
    assert narrow_cells(monthly, students, sorted(published)) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 3), min_size=2, max_size=2),
            st.integers(0, 5),
            st.sampled_from([900, 1000, 1500, 2000, 2400, 3100]),
        ),
        min_size=2,
        max_size=3,
        unique_by=lambda row: row[2],
    )
)
def test_no_published_month_end_narrows_a_small_count(rows):
    # Counts in August and September, the rest of the year in July.
    monthly = {
        n: [first, second, *([0] * 9), rest] for n, ((first, second), rest, _) in enumerate(rows, 1)
    }
    students = {n: s for n, (_, _, s) in enumerate(rows, 1)}
    published = same_period.secure_month_ends(monthly, students, 2, K, LEVEL)
    assert narrow_cells(monthly, students, sorted(published)) == []
    for index, value in published.items():
        assert value == mean(
            [sum(monthly[n][: index + 1]) for n in sorted(monthly)],
            [students[n] for n in sorted(monthly)],
        )


# --- On the dashboard ----------------------------------------------------------------------


@pytest.fixture
def running_world(db, world, monkeypatch):
    """The test sector on 20 March 2023 (2022-2023 runs; August … February have passed),
    with incidents before March 2023: 10 at 75AE (2,500 students) and one at 72AB (15,000
    students) in October 2022. Everything else happened on 14 March."""
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    location = world["locations"]
    add_incidents(location["75AE"], 10, occurred_on=date(2022, 10, 10))
    add_incidents(location["72AB"], 1, occurred_on=date(2022, 10, 10))
    engine.compute_school_year(PREVIOUS)
    engine.compute_school_year(YEAR)
    return world


def year_to_date(user, **params):
    client = Client()
    client.force_login(user)
    query = {"school_year": YEAR, "group": "total", "victim_role": "all", **params}
    response = client.get("/figures/", query)
    assert response.status_code == 200
    return response.context["fig51"]["year_to_date"], response.content.decode()


def test_outside_readers_get_the_month_ends_the_publication_has(
    running_world, coordinator_a, coordinator_b, researcher
):
    shown, html = year_to_date(coordinator_a)
    assert shown["period"] == "1 aug t/m 28 feb"
    points = {p["school_year"]: p for p in shown["points"]}
    # 2022-2023 through February: 1000/8 · (10/2500 + 1/15000) = 0.508, one decimal.
    assert points[YEAR]["mean"] == round(1000 / 8 * (10 / 2500 + 1 / 15000), 1) == 0.5
    published = FigureSet.objects.get(status="current", school_year=YEAR).publication
    assert published["same_period"]["months"] == ["8", "9", "10", "11", "12", "1", "2"]
    assert published["same_period"]["means"] == {
        "8": 0.0,
        "9": 0.0,
        **dict.fromkeys(["10", "11", "12", "1", "2"], 0.5),
    }
    # 2021-2022's publication withholds total × all cells (secondary suppression): no
    # same period for it, said in the table.
    previous = FigureSet.objects.get(status="current", school_year=PREVIOUS).publication
    assert any(cell[1:] == ["total", "all"] for cell in previous["withheld"])
    assert previous["same_period"]["means"] == {}
    assert points[PREVIOUS]["mean"] is None and points[PREVIOUS]["withheld"]
    assert "niet gepubliceerd" in html
    assert points[PREVIOUS]["institutions"] == points[YEAR]["institutions"] == 8
    # Every outside reader gets the same.
    assert len({str(year_to_date(u)[0]) for u in (coordinator_a, coordinator_b, researcher)}) == 1


def test_other_lines_get_no_same_period_for_outside_readers(running_world, researcher):
    shown, html = year_to_date(researcher, group="misdragingen")
    assert shown["points"] == []
    assert "alleen gepubliceerd voor alle incidenten en alle slachtoffers" in html


def test_administrators_keep_the_comparison_through_the_day(running_world, administrator):
    shown, _ = year_to_date(administrator)
    assert shown["period"] == "1 aug t/m 20 mrt"
    # Up to 20 March every year has all its incidents: the whole year's mean, which the
    # engine computed on its own.
    for point in shown["points"]:
        sector = SectorRate.objects.get(
            figure_set__status="current",
            school_year=point["school_year"],
            group="total",
            victim_role="all",
        )
        assert point["mean"] == round(sector.mean_rate, 1)
