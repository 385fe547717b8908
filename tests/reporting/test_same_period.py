"""Issue 11: the same period of every year (figure 5.1's comparison) as outside readers get
it: month ends only, and an integer audit checked here by a brute-force attacker.

The attacker knows every institution's yearly count and student count and collects every
published month-end mean (rounded to one decimal). Enumerating every monotone series of
counts up to the published month ends (no solver, no code of MIV's but the rounding), they
must find every count of 1 … k − 1 (an institution up to a month end, between two, or after
the last) at least ``level`` wide."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from fractions import Fraction

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident
from miv import clock
from reporting import audit, engine, publication, same_period
from reporting.models import FigureSet, SectorRate
from tests.services.summary import record

from .attacker import attack
from .conftest import add_incidents
from .test_attack import collect_as_named_researcher, too_narrow, truth_of
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


def consistent(cumulative, students, published) -> bool:
    """Whether counts fit a published mean of rates (1000/n · Σ c/s), in exact fractions:
    within half a decimal of it, both ends included (the attacker does not rely on how a
    half is rounded)."""
    value = Fraction(1000, len(students)) * sum(
        Fraction(c, s) for c, s in zip(cumulative, students, strict=True)
    )
    return abs(value - Fraction(str(published))) <= Fraction(1, 20)


def brute_force(monthly, students, published):
    """Every value each institution's count up to each published month end, between them
    and after the last can take, over all series consistent with the published means."""
    institutions = sorted(monthly)
    shown = sorted(published)
    totals = [sum(monthly[i]) for i in institutions]
    weights = [students[i] for i in institutions]
    per_institution = [
        list(itertools.combinations_with_replacement(range(total + 1), len(shown)))
        for total in totals
    ]
    seen: dict[tuple, set[int]] = {}
    for series in itertools.product(*per_institution):
        if not all(
            consistent([s[j] for s in series], weights, published[end])
            for j, end in enumerate(shown)
        ):
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


def narrow_cells(monthly, students, published):
    """The counts of 1 … k − 1 the brute-force attacker narrows below the level."""
    if not published:
        return []  # the one piece is the whole year: its count is published
    seen = brute_force(monthly, students, published)
    return [
        key
        for key, value in true_values(monthly, sorted(published)).items()
        if 0 < value < K and max(seen[key]) - min(seen[key]) < LEVEL
    ]


def all_month_ends(monthly, students, months):
    return {i: same_period.mean_through(monthly, students, i) for i in range(months)}


def test_a_month_end_that_names_an_institution_is_withheld():
    # Two institutions; one incident in August, at the smaller. The August mean
    # 1000/2 · (1/1000 + 0/2000) = 0.5 has only the solutions (1, 0) and (0, 2): the count
    # of 1 is 0 or 1, too narrow. Without the audit the attacker narrows it; with it the
    # August end is withheld and September's (2 and 4 by then) is kept.
    monthly = {1: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8], 2: [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]}
    students = {1: 1000, 2: 2000}
    # The control: all month ends shown.
    assert narrow_cells(monthly, students, all_month_ends(monthly, students, 2))
    published = same_period.secure_month_ends(monthly, students, 2, K, LEVEL)
    assert published == {1: 2.0}  # 1000/2 · (2/1000 + 4/2000)
    assert narrow_cells(monthly, students, published) == []


def test_a_same_period_audit_out_of_time_publishes_no_month_end():
    # The same sector as above, whose September end is safe: with no time for the audit,
    # nothing is shown safe, so nothing is published.
    monthly = {1: [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8], 2: [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]}
    students = {1: 1000, 2: 2000}
    assert same_period.secure_month_ends(monthly, students, 2, K, LEVEL, budget_seconds=60)
    assert same_period.secure_month_ends(monthly, students, 2, K, LEVEL, budget_seconds=0) == {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    assert narrow_cells(monthly, students, published) == []
    for index, value in published.items():  # the true counts fit the published mean
        assert consistent(
            [sum(monthly[n][: index + 1]) for n in sorted(monthly)],
            [students[n] for n in sorted(monthly)],
            value,
        )


# --- On the dashboard ----------------------------------------------------------------------


@pytest.fixture
def running_world(db, world, monkeypatch):
    """The test sector on 20 March 2023 (2022-2023 runs; August … February have passed),
    with incidents before March: 10 at 75AE (2,500 students) and one at 72AB (15,000
    students) in October 2022, 5 at 75AE (2,425) in October 2021. Everything else
    happened on 14 March."""
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    location = world["locations"]
    add_incidents(location["75AE"], 10, occurred_on=date(2022, 10, 10))
    add_incidents(location["72AB"], 1, occurred_on=date(2022, 10, 10))
    add_incidents(location["75AE"], 5, occurred_on=date(2021, 10, 10))
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
    # 2021-2022 through February: 5 incidents at 75AE (2,425 students). Its yearly
    # publication withholds total × all cells; audited together with them, the month ends
    # give none of them away.
    previous = FigureSet.objects.get(status="current", school_year=PREVIOUS).publication
    assert any(cell[1:] == ["total", "all"] for cell in previous["withheld"])
    assert points[PREVIOUS]["mean"] == round(1000 / 8 * 5 / 2425, 1) == 0.3
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


# --- The integer attack with the same period ------------------------------------------------


@pytest.fixture
def spread_world(db, world):
    """The test sector with every incident moved to a month of its year (August … June, by
    its id), both years complete: the same period has something to tell every month."""
    for year in (PREVIOUS, YEAR):
        incidents = list(Incident.objects.filter(school_year=year).only("pk", "occurred_on"))
        for incident in incidents:
            incident.occurred_on = same_period.month_end(year, incident.pk * 7 % 11) - timedelta(
                days=3
            )
        Incident.objects.bulk_update(incidents, ["occurred_on"])
    engine.compute_school_year(PREVIOUS)
    engine.compute_school_year(YEAR)
    return world


@pytest.mark.parametrize("school_year", [YEAR, PREVIOUS])
def test_the_integer_attack_with_every_month_end_recovers_nothing(spread_world, school_year):
    rows, sector = collect_as_named_researcher(school_year)
    students = {r["institution"]: r["students"] for r in rows}
    truth = truth_of(school_year)
    published = FigureSet.objects.get(status="current", school_year=school_year).publication
    period = published["same_period"]
    means = [period["means"][m] for m in period["months"] if m in period["means"]]
    assert len(period["months"]) == 11
    level = publication.protection_level()
    outside = attack(rows, sector, students, mean_decimals=audit.MEAN_DECIMALS, same_period=means)
    narrow = too_narrow(outside.ranges, level)
    # Each coordinator knows their own counts (not modelled by the audit: checked here).
    narrow_for_coordinators = {}
    for brin in students:
        known = {cell: count for cell, count in truth.items() if cell[0] == brin}
        inside = attack(
            rows,
            sector,
            students,
            known=known,
            mean_decimals=audit.MEAN_DECIMALS,
            same_period=means,
        )
        narrow_for_coordinators[brin] = too_narrow(inside.ranges, level)
    narrow_inside = sum(len(cells) for cells in narrow_for_coordinators.values())
    record(
        f"same period: test sector {school_year}",
        f"{len(means)} of 11 month-end means published; integer attack with them: outside "
        f"reader recovered {len(outside.recovered)}, narrower than {level}: {len(narrow)}; "
        f"coordinators narrower: {narrow_inside}",
        failures=len(outside.recovered) + len(narrow) + narrow_inside,
    )
    for cell, (lo, hi) in outside.ranges.items():
        assert lo <= truth[cell] <= hi  # the attacker is sound
    assert outside.recovered == [] and narrow == []
    assert means, "the audit withheld every month end"
    assert not any(narrow_for_coordinators.values()), narrow_for_coordinators
