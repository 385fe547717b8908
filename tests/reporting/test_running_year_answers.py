"""The running school year in the answers that leave MIV (issue 12): the figures API, the
research API (JSON and CSV) and the coordinator's yearly export say which part of its year
a figure covers, default to a complete year, and the export compares a running year with
the same period of earlier years, counted here independently of the engine."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient
from scipy import stats as scipy_stats

from incidents.choices import Role, Status
from incidents.models import Incident
from miv import clock
from reporting import engine, export_files, exports
from tests.factories import MembershipFactory, UserFactory

from .conftest import add_incidents
from .world import PREVIOUS, YEAR, build_world

pytestmark = pytest.mark.django_db

# The clock of these tests: 20 March 2023, in YEAR (2022-2023), which then runs.
TODAY = date(2023, 3, 20)
SAME_DAY_LAST_YEAR = date(2022, 3, 20)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    built = build_world(institution_a, institution_b, location_a, location_b)
    # Around the same date last year: on it (counts), the day after and later (do not).
    add_incidents(location_a, 2, occurred_on=SAME_DAY_LAST_YEAR, victim_role="staff")
    add_incidents(location_a, 3, occurred_on=date(2022, 3, 21))
    add_incidents(location_a, 4, type_code="BRA.01", occurred_on=date(2022, 6, 1))
    add_incidents(location_a, 1, occurred_on=date(2021, 8, 1), victim_role="student")
    engine.compute_school_year(PREVIOUS)
    return built


@pytest.fixture
def running(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def researcher(db):
    return MembershipFactory(
        user=UserFactory(username="researcher"),
        institution=None,
        role=Role.RESEARCHER,
        named_access=True,
    ).user


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_client(user) -> APIClient:
    _instance, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- The figures API ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["rates", "sector", "correlation"])
def test_figures_answers_say_the_year_runs_and_through_when(world, running, administrator, path):
    params = {"school_year": YEAR}
    if path == "correlation":
        params["score"] = "job"
    data = api(administrator).get(f"/api/v1/figures/{path}/", params).json()
    for answer in data if isinstance(data, list) else [data]:
        assert answer["running"] is True
        assert answer["through"] == "2023-03-20"
    params["school_year"] = PREVIOUS
    data = api(administrator).get(f"/api/v1/figures/{path}/", params).json()
    for answer in data if isinstance(data, list) else [data]:
        assert answer["running"] is False
        assert answer["through"] == "2022-07-31"


def test_without_a_school_year_the_api_answers_for_the_latest_complete_one(
    world, administrator, monkeypatch
):
    client = api(administrator)
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    rows = client.get("/api/v1/figures/rates/").json()
    assert {(r["school_year"], r["running"]) for r in rows} == {(PREVIOUS, False)}
    # Once YEAR is over, it is the default.
    monkeypatch.setattr(clock, "today", lambda: date(2023, 8, 1))
    rows = client.get("/api/v1/figures/rates/").json()
    assert {(r["school_year"], r["running"], r["through"]) for r in rows} == {
        (YEAR, False, "2023-07-31")
    }


def test_the_research_api_marks_the_running_year_in_json_and_csv(world, running, researcher):
    client = token_client(researcher)
    rows = client.get("/api/v1/research/rates/", {"school_year": YEAR}).json()
    assert rows and all((r["running"], r["through"]) == (True, "2023-03-20") for r in rows)
    response = client.get("/api/v1/research/rates.csv", {"school_year": YEAR})
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert table and all((r["running"], r["through"]) == ("true", "2023-03-20") for r in table)
    rows = client.get("/api/v1/research/rates/", {"school_year": PREVIOUS}).json()
    assert all((r["running"], r["through"]) == (False, "2022-07-31") for r in rows)


# --- The yearly export -------------------------------------------------------------------------


def read_zip(content: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            for name in archive.namelist()
        }


def as_dicts(table: exports.ExportTable) -> list[dict]:
    return [dict(zip(table.keys(), row, strict=True)) for row in table.rows]


def test_the_rates_of_a_running_year_say_so_in_every_row(world, running, institution_a):
    rows = as_dicts(exports.rates_table(None, institution_a, YEAR))
    assert rows and {(r["period"], r["through"]) for r in rows} == {("running", "2023-03-20")}
    assert all(r["note"].startswith("Lopend schooljaar, t/m 2023-03-20") for r in rows)


def test_complete_years_are_complete_and_have_no_same_period_rows(world, institution_a):
    # The real clock: both years are long over.
    rows = as_dicts(exports.trend_table(None, institution_a, YEAR))
    assert {(r["school_year"], r["period"], r["through"]) for r in rows} == {
        (PREVIOUS, "complete", "2022-07-31")
    }
    rows = as_dicts(exports.rates_table(None, institution_a, YEAR))
    assert {r["period"] for r in rows} == {"complete"}
    assert not any(r["note"].startswith("Lopend") for r in rows)


def independent_count(institution, group: str, role: str) -> int:
    """Counted registrations of PREVIOUS from 1 August 2021 to 20 March 2022, in Python."""
    n = 0
    for incident in Incident.objects.filter(institution=institution).select_related(
        "incident_type__category"
    ):
        if incident.status == Status.WITHDRAWN or incident.school_year != PREVIOUS:
            continue
        if not date(2021, 8, 1) <= incident.occurred_on <= SAME_DAY_LAST_YEAR:
            continue
        if role != "all" and incident.victim_role != role:
            continue
        category = incident.incident_type.category.code
        in_group = {
            "total": True,
            "misdragingen": category == "MIS",
            "ongevallen": category != "MIS",
        }.get(group, category == group)
        n += in_group
    return n


def test_the_trend_of_a_running_year_adds_the_same_period_of_earlier_years(
    world, running, institution_a
):
    rows = as_dicts(exports.trend_table(None, institution_a, YEAR))
    complete = [r for r in rows if r["period"] == "complete"]
    same_period = [r for r in rows if r["period"] == "year_to_date"]
    assert len(complete) == len(same_period) == 7 * 3
    assert {(r["school_year"], r["through"]) for r in same_period} == {(PREVIOUS, "2022-03-20")}
    for row in same_period:
        expected = independent_count(institution_a, row["group_code"], row["victim_role_code"])
        assert row["count"] == expected, (row["group_code"], row["victim_role_code"])
        assert row["students"] == 11800
        # Garwood's exact interval, from the chi-squared distribution directly.
        low = scipy_stats.chi2.ppf(0.025, 2 * expected) / 2 if expected else 0.0
        high = scipy_stats.chi2.ppf(0.975, 2 * expected + 2) / 2
        assert row["rate"] == pytest.approx(1000 * expected / 11800, abs=1e-4)
        assert row["ci_low"] == pytest.approx(1000 * low / 11800, abs=1e-4)
        assert row["ci_high"] == pytest.approx(1000 * high / 11800, abs=1e-4)
        # Sector figures are for whole years only.
        assert row["sector_mean"] is row["sector_ci_low"] is row["sector_k"] is None
        assert "1 augustus t/m 2022-03-20" in row["note"]
    by_key = {(r["group_code"], r["victim_role_code"]): r for r in same_period}
    full = {(r["group_code"], r["victim_role_code"]): r for r in complete}
    # The registrations after 20 March 2022 are in the whole year, not in the same period.
    assert full[("total", "all")]["count"] - by_key[("total", "all")]["count"] == 3 + 4
    assert by_key[("total", "staff")]["count"] == independent_count(institution_a, "total", "staff")
    assert by_key[("BRA", "all")]["count"] < full[("BRA", "all")]["count"]


def test_the_running_year_export_files_carry_the_period(world, running, institution_a):
    tables = exports.yearly_tables(institution_a, YEAR, tables=["rates", "trend"])
    buffer = io.BytesIO()
    export_files.write_zip(tables, buffer, "export")
    files = read_zip(buffer.getvalue())
    rates = next(rows for name, rows in files.items() if name.endswith("rates.csv"))
    assert rates[0][:3] == ["school_year", "period", "through"]
    assert {tuple(row[:3]) for row in rates[1:]} == {(YEAR, "running", "2023-03-20")}
