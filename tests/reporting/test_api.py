"""The figures API: shapes with the issue's field names, who sees what, strict parameters
(400 with a message, never an empty list), 404 for years without figures, and jobs."""

import pytest

from incidents.choices import Role
from reporting import engine
from reporting.choices import JobStatus
from reporting.models import FigureJob
from tests.factories import MembershipFactory, UserFactory

from .conftest import YEAR, set_score

pytestmark = pytest.mark.django_db

RATES = "/api/v1/figures/rates/"
SECTOR = "/api/v1/figures/sector/"
CORRELATION = "/api/v1/figures/correlation/"
JOBS = "/api/v1/figures/jobs/"

RATE_FIELDS = {
    "institution",
    "school_year",
    "group",
    "victim_role",
    "count",
    "students",
    "rate_per_1000",
    "ci_low",
    "ci_high",
}
SECTOR_FIELDS = {
    "school_year",
    "group",
    "victim_role",
    "institutions",
    "mean_rate",
    "mean_ci_low",
    "mean_ci_high",
    "pooled_rate",
    "pooled_ci_low",
    "pooled_ci_high",
    "median",
    "min",
    "max",
    "excluded",
}
CORRELATION_FIELDS = {
    "school_year",
    "survey_year",
    "score",
    "n",
    "pearson_r",
    "pearson_p",
    "pearson_ci_low",
    "pearson_ci_high",
    "spearman_rho",
    "spearman_p",
    "points",
    "flagged",
}


@pytest.fixture
def computed(sector):
    for i, institution in enumerate((sector["a"], sector["b"], sector["d"], sector["c"])):
        set_score(institution, "job", 2022, 75 + 3 * i)
    engine.compute_school_year(YEAR)
    return sector


@pytest.fixture
def named_researcher(db):
    return MembershipFactory(
        user=UserFactory(username="named"),
        institution=None,
        role=Role.RESEARCHER,
        named_access=True,
    ).user


# --- Rates ------------------------------------------------------------------------------------


def test_rates_shape_for_an_administrator(client_for, administrator, computed):
    response = client_for(administrator).get(
        RATES, {"school_year": YEAR, "group": "total", "victim_role": "all"}
    )
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == 3
    assert all(RATE_FIELDS <= set(row) for row in rows)
    by_brin = {row["institution"]: row for row in rows}
    assert set(by_brin) == {"25LJ", "30RR", "50DD"}  # 40CC has no student count
    a = by_brin["25LJ"]
    assert (a["school_year"], a["group"], a["victim_role"], a["count"], a["students"]) == (
        YEAR,
        "total",
        "all",
        17,
        2000,
    )
    assert a["rate_per_1000"] == pytest.approx(8.5)
    assert a["ci_low"] < 8.5 < a["ci_high"]


@pytest.mark.parametrize(
    "group, victim_role, expected",
    [
        ("misdragingen", "all", 12),
        ("ongevallen", "all", 5),
        ("MIS", "all", 12),
        ("MIS.FYS", "staff", 3),
        ("MIS.FYS.06", "student", 7),
        ("BRA.01", "all", 1),
        ("BRA", "student", 0),
    ],
)
def test_rates_per_group_and_victim_role(
    client_for, administrator, computed, group, victim_role, expected
):
    response = client_for(administrator).get(
        RATES,
        {"school_year": YEAR, "group": group, "victim_role": victim_role, "institution": "25lj"},
    )
    assert response.status_code == 200, response.json()
    [row] = response.json()
    assert (row["group"], row["victim_role"], row["count"]) == (group, victim_role, expected)


def test_rates_default_to_the_latest_computed_year_total_all(client_for, administrator, computed):
    rows = client_for(administrator).get(RATES).json()
    assert {(r["school_year"], r["group"], r["victim_role"]) for r in rows} == {
        (YEAR, "total", "all")
    }


def test_coordinator_sees_only_own_institution(client_for, coordinator_a, computed):
    client = client_for(coordinator_a)
    rows = client.get(RATES, {"school_year": YEAR}).json()
    assert [r["institution"] for r in rows] == ["25LJ"]
    response = client.get(RATES, {"school_year": YEAR, "institution": "30RR"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "institution"


def test_researcher_sees_all_by_pseudonym_named_researcher_by_brin(
    client_for, researcher, named_researcher, computed, settings
):
    # Naming only: with two institutions that register, disclosure control (issue 6,
    # tests/reporting/test_disclosure.py) would withhold most counts.
    settings.MIV_DISCLOSURE_K = 1
    rows = client_for(researcher).get(RATES, {"school_year": YEAR}).json()
    pseudonyms = {computed[k].pseudonym for k in ("a", "b", "d")}
    assert {r["institution"] for r in rows} == pseudonyms
    # A pseudonymous researcher names institutions by pseudonym, never by BRIN.
    client = client_for(researcher)
    assert client.get(RATES, {"institution": "25LJ"}).status_code == 400
    one = client.get(RATES, {"institution": computed["a"].pseudonym}).json()
    # By pseudonym a rounded rate only (issue 11): the count would name the institution.
    assert [(r["count"], r["students"]) for r in one] == [(None, None)]
    rows = client_for(named_researcher).get(RATES, {"school_year": YEAR}).json()
    assert {r["institution"] for r in rows} == {"25LJ", "30RR", "50DD"}
    named = client_for(named_researcher).get(RATES, {"institution": "25LJ"}).json()
    assert [r["count"] for r in named] == [17]


@pytest.mark.parametrize("url", [RATES, SECTOR, CORRELATION + "?score=job"])
def test_registrars_and_anonymous_users_get_no_figures(client_for, registrar_a, computed, url):
    assert client_for(registrar_a).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 401


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"school_year": "2022/2023"}, "school_year"),
        ({"school_year": "2022-2024"}, "school_year"),
        ({"group": "NOPE"}, "group"),
        ({"group": ""}, "group"),
        ({"victim_role": "visitor"}, "victim_role"),
        ({"institution": "99ZZ"}, "institution"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_unknown_values_are_400_with_a_message(
    client_for, administrator, computed, params, parameter
):
    response = client_for(administrator).get(RATES, params)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter and body["detail"]


def test_a_repeated_parameter_is_400(client_for, administrator, computed):
    response = client_for(administrator).get(RATES + "?group=MIS&group=ONG")
    assert response.status_code == 400 and response.json()["parameter"] == "group"


def test_a_year_without_figures_is_404_not_an_empty_list(client_for, administrator, computed):
    response = client_for(administrator).get(RATES, {"school_year": "2010-2011"})
    assert response.status_code == 404
    assert "2010-2011" in response.json()["detail"]


def test_nothing_computed_yet_is_404(client_for, administrator, sector):
    assert client_for(administrator).get(RATES).status_code == 404


# --- Sector -----------------------------------------------------------------------------------


def test_sector_shape_and_excluded_institutions(client_for, administrator, computed):
    response = client_for(administrator).get(SECTOR, {"school_year": YEAR, "group": "total"})
    assert response.status_code == 200
    body = response.json()
    assert SECTOR_FIELDS <= set(body)
    assert body["institutions"] == 3
    assert body["mean_method"] == "unweighted_mean_t"
    assert body["pooled_method"] == "pooled_exact_poisson"
    assert body["pooled_count"] == 56 and body["pooled_students"] == 15300
    assert body["mean_ci_low"] < body["mean_rate"] < body["mean_ci_high"]
    assert body["excluded"] == [
        {
            "institution": "40CC",
            "reason_code": "no_student_count",
            "reason": body["excluded"][0]["reason"],
        }
    ]
    assert "studentaantal" in body["excluded"][0]["reason"].lower()


def test_coordinators_see_sector_rows_with_other_institutions_anonymous(
    client_for, coordinator_a, computed
):
    body = client_for(coordinator_a).get(SECTOR, {"group": "misdragingen"}).json()
    assert body["institutions"] == 3
    assert body["excluded"][0]["institution"] is None


def test_sector_with_unknown_group_is_400(client_for, researcher, computed):
    assert client_for(researcher).get(SECTOR, {"group": "MIS.XXX"}).status_code == 400


# --- Correlation ------------------------------------------------------------------------------


def test_correlation_shape_and_not_enough_data_is_null_not_nan(client_for, administrator, computed):
    response = client_for(administrator).get(CORRELATION, {"school_year": YEAR, "score": "job"})
    assert response.status_code == 200
    assert b"NaN" not in response.content and b"Infinity" not in response.content
    body = response.json()
    assert CORRELATION_FIELDS <= set(body)
    # Three institutions with a rate and a 2022 score: not enough for a correlation.
    assert (body["survey_year"], body["score"], body["n"], body["status"]) == (
        2022,
        "job",
        3,
        "not_enough_data",
    )
    assert body["pearson_r"] is None and body["spearman_p"] is None
    assert body["message"]
    assert {p["institution"] for p in body["points"]} == {"25LJ", "30RR", "50DD"}
    assert body["flagged"] == []


def test_correlation_without_a_survey_says_so(client_for, administrator, computed):
    body = client_for(administrator).get(CORRELATION, {"score": "mo"}).json()
    assert (body["status"], body["survey_year"], body["n"]) == ("no_survey", None, 0)


@pytest.fixture
def five_computed(five):
    engine.compute_school_year(YEAR)
    return five


def test_correlation_flags_with_a_spelled_out_reason(client_for, administrator, five_computed):
    body = client_for(administrator).get(CORRELATION, {"score": "job", "group": "total"}).json()
    points = sorted((p["rate_per_1000"], p["score"]) for p in body["points"])
    assert points == [(5, 70), (10, 90), (15, 80), (20, 60), (25, 85)]
    assert body["status"] == "ok" and body["n"] == 5 and body["survey_year"] == 2023
    assert -1 <= body["pearson_ci_low"] <= body["pearson_r"] <= body["pearson_ci_high"] <= 1
    [flag] = body["flagged"]
    assert flag["institution"] == five_computed[0].brin
    # A Dutch sentence writes Dutch numbers; the numbers themselves are JSON numbers.
    assert "mediaan" in flag["reason"] and "80,0" in flag["reason"] and "15,0" in flag["reason"]


def test_correlation_with_an_explicit_survey_year(client_for, administrator, five_computed):
    body = client_for(administrator).get(CORRELATION, {"score": "job", "survey_year": 2021}).json()
    assert body["survey_year"] == 2021
    assert sorted(p["score"] for p in body["points"]) == [80, 81, 82, 83, 84]
    assert sorted(p["rate_per_1000"] for p in body["points"]) == [5, 10, 15, 20, 25]
    assert body["n"] == 5 and body["pearson_r"] == pytest.approx(1.0)


def test_coordinator_sees_points_anonymously_and_only_own_flag(client_for, five_computed):
    own = five_computed[0]
    coordinator = MembershipFactory(
        user=UserFactory(username="coord_five"), institution=own, role=Role.COORDINATOR
    ).user
    body = client_for(coordinator).get(CORRELATION, {"score": "job"}).json()
    labels = [p["institution"] for p in body["points"]]
    assert labels.count(own.brin) == 1 and labels.count(None) == 4
    assert [f["institution"] for f in body["flagged"]] == [own.brin]
    # The chart still marks the point; only the list of named judgements is limited.
    assert [p["institution"] for p in body["points"] if p["flagged"]] == [own.brin]
    other = MembershipFactory(
        user=UserFactory(username="coord_other"),
        institution=five_computed[1],
        role=Role.COORDINATOR,
    ).user
    other_body = client_for(other).get(CORRELATION, {"score": "job"}).json()
    assert other_body["flagged"] == []
    # The other coordinator sees the flagged point highlighted, without a name.
    flagged_points = [p for p in other_body["points"] if p["flagged"]]
    assert [(p["institution"], p["rate_per_1000"]) for p in flagged_points] == [(None, 5.0)]


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({}, "score"),
        ({"score": "xyz"}, "score"),
        ({"score": "job", "survey_year": "1990"}, "survey_year"),
        ({"score": "job", "survey_year": "abc"}, "survey_year"),
        ({"score": "job", "group": "???"}, "group"),
        ({"score": "job", "victim_role": "staff"}, "victim_role"),
    ],
)
def test_correlation_bad_parameters_are_400(client_for, administrator, computed, params, parameter):
    response = client_for(administrator).get(CORRELATION, params)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


# --- Jobs -------------------------------------------------------------------------------------


def test_coordinator_starts_a_job_and_follows_it(client_for, coordinator_a, computed):
    client = client_for(coordinator_a)
    response = client.post(JOBS, {"school_year": YEAR}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/figures/jobs/{body['id']}/")
    # Eager Celery in the tests: the job has already run.
    job = client.get(body["url"]).json()
    assert (job["status"], job["progress"], job["attempts"], job["retried"]) == (
        "done",
        100,
        1,
        False,
    )
    assert job["school_year"] == YEAR and job["reason"] == "api"


def test_administrator_may_start_jobs_others_may_not(
    client_for, administrator, researcher, registrar_a, computed
):
    assert client_for(administrator).post(JOBS, {"school_year": YEAR}).status_code == 202
    assert client_for(researcher).post(JOBS, {"school_year": YEAR}).status_code == 403
    assert client_for(registrar_a).post(JOBS, {"school_year": YEAR}).status_code == 403
    assert client_for(None).post(JOBS, {"school_year": YEAR}).status_code == 401
    job = FigureJob.objects.first()
    assert client_for(researcher).get(f"{JOBS}{job.pk}/").status_code == 403


@pytest.mark.parametrize("school_year", ["2022/2023", "2022-2024", "2099-2100", "", "x" * 50])
def test_invalid_job_year_is_400(client_for, administrator, school_year):
    response = client_for(administrator).post(JOBS, {"school_year": school_year})
    assert response.status_code == 400


def test_unknown_job_is_404(client_for, administrator):
    url = f"{JOBS}00000000-0000-0000-0000-000000000000/"
    assert client_for(administrator).get(url).status_code == 404


def test_a_request_for_a_year_being_computed_joins_that_job(client_for, administrator, computed):
    running = engine.create_job(YEAR, reason="nightly")
    FigureJob.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING)
    body = client_for(administrator).post(JOBS, {"school_year": YEAR}).json()
    assert body["id"] == str(running.pk) and body["status"] == "running"


def test_broker_down_when_starting_a_job_is_503(client_for, administrator, computed, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerError

    from reporting import tasks

    def down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.compute_figures, "apply_async", down)
    response = client_for(administrator).post(JOBS, {"school_year": YEAR})
    assert response.status_code == 503
    assert FigureJob.objects.get().status == JobStatus.FAILED


def test_errors_are_shown_to_administrators_only(client_for, administrator, coordinator_a, db):
    job = engine.create_job(YEAR, reason="api")
    engine.fail_job(job.pk, "OperationalError: connection to server lost")
    url = f"{JOBS}{job.pk}/"
    assert "connection" in client_for(administrator).get(url).json()["error"]
    assert client_for(coordinator_a).get(url).json()["error"] == "error"


def test_points_use_the_scores_frozen_with_the_set(client_for, administrator, five_computed):
    client = client_for(administrator)
    before = client.get(CORRELATION, {"score": "job"}).json()
    # A score import after the computation does not make points and r disagree.
    set_score(five_computed[0], "job", 2023, 99)
    after = client.get(CORRELATION, {"score": "job"}).json()
    assert after["points"] == before["points"] and after["pearson_r"] == before["pearson_r"]
