"""The research API (issue 6): the issue's fields, pseudonyms and named access, fixed
combinations only, disclosure control (the same one on figures/*), token authentication,
throttling, an audit log without data, and a researcher kept away from every incident."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from incidents.choices import Role
from reporting import research
from reporting.models import InstitutionRate, ResearchRequestLog
from tests.factories import IncidentFactory, MembershipFactory, UserFactory

from .world import YEAR, build_world

pytestmark = pytest.mark.django_db

RESEARCH = "/api/v1/research/rates/"
FIELDS = {
    "institution",
    "kind",
    "region",
    "size_class",
    "urbanity",
    "count",
    "students",
    "rate_per_1000",
    "ci_low",
    "ci_high",
    "suppressed",
    "taxonomy_version",
    "school_year",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle buckets and disclosure patterns live in the cache: start every test empty.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    return build_world(institution_a, institution_b, location_a, location_b)


@pytest.fixture
def named_researcher(db):
    return MembershipFactory(
        user=UserFactory(username="named"),
        institution=None,
        role=Role.RESEARCHER,
        named_access=True,
    ).user


def token_client(user) -> APIClient:
    _instance, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Shape -------------------------------------------------------------------------------------


def test_the_rows_have_exactly_the_fields_of_the_issue(world, researcher):
    response = token_client(researcher).get(RESEARCH, {"school_year": YEAR})
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 8  # every institution with a student count
    for row in rows:
        assert FIELDS <= set(row)
        assert set(row) - FIELDS <= {
            "group",
            "victim_role",
            "confidence_level",
            "running",
            "through",
        }
        assert row["school_year"] == YEAR and row["taxonomy_version"]
    by_pseudonym = {r["institution"]: r for r in rows}
    a = world["institutions"]["25LJ"]
    row = by_pseudonym[a.pseudonym]
    # By pseudonym none of these (issue 11: with DUO's counts they name the institution).
    assert (row["kind"], row["region"], row["urbanity"], row["size_class"]) == (
        None,
        None,
        None,
        None,
    )
    stored = InstitutionRate.objects.get(
        figure_set__status="current",
        figure_set__school_year=YEAR,
        institution=a,
        group="total",
        victim_role="all",
    )
    # By pseudonym a whole rate per 1,000 only; named access gets the exact figures.
    assert (row["count"], row["students"], row["suppressed"]) == (None, None, False)
    assert row["rate_per_1000"] == round(stored.rate)
    assert (row["ci_low"], row["ci_high"]) == (None, None)
    # Ordered by institution label, never by rate (a withheld row's place would hint at it).
    assert [r["institution"] for r in rows] == sorted(r["institution"] for r in rows)


@pytest.mark.parametrize(
    "students, expected",
    [(1, "<4000"), (3999, "<4000"), (4000, "4000-15000"), (15000, "4000-15000"), (15001, ">15000")],
)
def test_size_classes_of_table_5_1(students, expected):
    assert research.size_class(students) == expected


def test_pseudonyms_by_default_brin_only_with_named_access(world, researcher, named_researcher):
    brins = set(world["institutions"])
    pseudonyms = {i.pseudonym for i in world["institutions"].values()}
    rows = token_client(researcher).get(RESEARCH).json()
    assert {r["institution"] for r in rows} == pseudonyms
    named = token_client(named_researcher).get(RESEARCH).json()
    assert {r["institution"] for r in named} == brins


def test_csv_has_the_same_rows_as_json(world, researcher):
    client = token_client(researcher)
    params = {"school_year": YEAR, "group": "ongevallen", "victim_role": "student"}
    rows = client.get(RESEARCH, params).json()
    response = client.get(RESEARCH, {**params, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(table[0]) == list(research.RESEARCH_COLUMNS)
    assert len(table) == len(rows)
    for line, row in zip(table, rows, strict=True):
        assert line["institution"] == row["institution"]
        assert line["suppressed"] == ("true" if row["suppressed"] else "false")
        assert line["count"] == ("" if row["count"] is None else str(row["count"]))


# --- Fixed combinations and bad parameters ------------------------------------------------------


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"group": "MIS.FYS"}, "group"),  # a subcategory: never per institution
        ({"group": "MIS.FYS.06"}, "group"),
        ({"group": "NOPE"}, "group"),
        ({"victim_role": "visitor"}, "victim_role"),
        ({"school_year": "2022/2023"}, "school_year"),
        ({"institution": "25LJ"}, "institution"),  # no per-institution filter here
        ({"format": "xml"}, "format"),
    ],
)
def test_other_combinations_are_400_with_a_message(world, researcher, params, parameter):
    response = token_client(researcher).get(RESEARCH, params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["parameter"] == parameter and body["detail"]


def test_errors_are_json_also_when_csv_is_asked_for(world, researcher):
    response = token_client(researcher).get(RESEARCH, {"group": "MIS.FYS", "format": "csv"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "group"


def test_a_year_without_figures_is_404(world, researcher):
    assert token_client(researcher).get(RESEARCH, {"school_year": "2010-2011"}).status_code == 404


def test_researchers_get_only_the_fixed_groups_on_figures_endpoints_too(world, researcher):
    client = token_client(researcher)
    for url in ("/api/v1/figures/rates/", "/api/v1/figures/sector/"):
        assert client.get(url, {"group": "MIS.FYS.06"}).status_code == 400
        assert client.get(url, {"group": "BRA"}).status_code == 200
    response = client.get("/api/v1/figures/correlation/", {"score": "job", "group": "ONG.ZIE"})
    assert response.status_code == 400


# --- Disclosure control ------------------------------------------------------------------------


def _all_combinations(client):
    for group in ("total", "misdragingen", "ongevallen", "MIS", "ONG", "BRA", "MIL"):
        for role in ("all", "student", "staff"):
            params = {"school_year": YEAR, "group": group, "victim_role": role}
            yield group, role, client.get(RESEARCH, params).json()


def test_no_published_count_below_k_and_withheld_rows_are_null(world, named_researcher, settings):
    k = settings.MIV_DISCLOSURE_K
    suppressed = 0
    for _group, _role, rows in _all_combinations(token_client(named_researcher)):
        for row in rows:
            if row["suppressed"]:
                suppressed += 1
                assert row["count"] is row["rate_per_1000"] is row["ci_low"] is None
                assert row["ci_high"] is None and row["students"] > 0
            else:
                assert not (0 < row["count"] < k)
    assert suppressed > 0  # the world has small counts: the policy had work to do


def test_the_published_table_cannot_be_subtracted(world, named_researcher):
    """Per institution and role: total = misdragingen + ongevallen; per institution and
    group: all = student + staff + other (never published); per group and role: the
    sector pooled count = Σ institutions. No withheld cell is its line total minus the
    published cells (its partners in the line are positive)."""
    client = token_client(named_researcher)
    cells = {}
    for group, role, rows in _all_combinations(client):
        for row in rows:
            cells[(row["institution"], group, role)] = row
    true = {
        (rate.institution.brin, rate.group, rate.victim_role): rate.count
        for rate in InstitutionRate.objects.filter(
            figure_set__status="current", figure_set__school_year=YEAR
        ).select_related("institution")
    }

    def check(total_key, part_keys, total_value):
        published = sum(cells[p]["count"] for p in part_keys if not cells[p]["suppressed"])
        for p in part_keys:
            if cells[p]["suppressed"]:
                assert total_value - published != true[p], (p, total_key)

    institutions = {key[0] for key in cells}
    for inst in institutions:
        for role in ("all", "student", "staff"):
            total = cells[(inst, "total", role)]
            if not total["suppressed"]:
                check(
                    total,
                    [(inst, "misdragingen", role), (inst, "ongevallen", role)],
                    total["count"],
                )
    for group in ("total", "misdragingen", "ongevallen", "MIS", "ONG", "BRA", "MIL"):
        for role in ("all", "student", "staff"):
            sector = client.get(
                "/api/v1/figures/sector/",
                {"school_year": YEAR, "group": group, "victim_role": role},
            ).json()
            if not sector["suppressed"]:
                check(
                    sector, [(inst, group, role) for inst in institutions], sector["pooled_count"]
                )


def test_figures_rates_for_researchers_go_through_the_same_function(world, researcher):
    client = token_client(researcher)
    params = {"school_year": YEAR, "group": "MIL", "victim_role": "staff"}
    research_rows = {r["institution"]: r for r in client.get(RESEARCH, params).json()}
    figures_rows = client.get("/api/v1/figures/rates/", params).json()
    assert figures_rows and len(figures_rows) == len(research_rows)
    for row in figures_rows:
        mine = research_rows[row["institution"]]
        assert (row["suppressed"], row["count"], row["rate_per_1000"]) == (
            mine["suppressed"],
            mine["count"],
            mine["rate_per_1000"],
        )
    # Withheld rows come last, whatever their true rate.
    flags = [r["suppressed"] for r in figures_rows]
    assert flags == sorted(flags)


def test_administrators_see_everything_unsuppressed(world, administrator):
    rows = (
        token_client(administrator).get(RESEARCH, {"group": "MIL", "victim_role": "staff"}).json()
    )
    assert rows and not any(r["suppressed"] for r in rows)
    assert {r["institution"] for r in rows} == set(world["institutions"])


def test_coordinators_see_their_own_small_counts(world, coordinator_a):
    rows = APIClient()
    rows.force_authenticate(coordinator_a)
    [own] = rows.get(
        "/api/v1/figures/rates/", {"school_year": YEAR, "group": "MIL", "victim_role": "staff"}
    ).json()
    assert own["institution"] == "25LJ" and not own["suppressed"] and own["count"] == 2


def test_sector_statistics_that_would_reveal_a_withheld_count_are_withheld(world, researcher):
    client = token_client(researcher)
    body = client.get(
        "/api/v1/figures/sector/", {"school_year": YEAR, "group": "MIL", "victim_role": "staff"}
    ).json()
    assert body["withheld"]  # small counts everywhere in this line
    for name in body["withheld"]:
        assert body[name] is None
    assert b"NaN" not in json.dumps(body).encode()


# --- Authentication, throttling, audit ---------------------------------------------------------


def test_researchers_need_a_token_the_session_is_for_the_dashboards(world, researcher):
    browser = session_client(researcher)
    assert browser.get(RESEARCH).status_code == 401
    assert browser.get("/api/v1/figures/rates/").status_code == 403
    assert browser.get("/figures/").status_code == 200
    assert token_client(researcher).get("/api/v1/figures/rates/").status_code == 200


def test_anonymous_registrars_and_coordinators_get_no_research_rows(
    world, registrar_a, coordinator_a
):
    assert APIClient().get(RESEARCH).status_code == 401
    assert token_client(registrar_a).get(RESEARCH).status_code == 403
    assert token_client(coordinator_a).get(RESEARCH).status_code == 403
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(RESEARCH).status_code == 401


def test_requests_are_throttled(world, researcher, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"research": "3/min"},
    }
    client = token_client(researcher)
    statuses = [client.get(RESEARCH).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # One bucket for the researcher on every figures endpoint.
    assert client.get("/api/v1/figures/sector/").status_code == 429
    response = client.get(RESEARCH)
    assert response.status_code == 429 and "Retry-After" in response


def test_every_request_is_logged_without_the_data(world, researcher):
    client = token_client(researcher)
    client.get(RESEARCH, {"school_year": YEAR, "group": "misdragingen", "victim_role": "staff"})
    client.get(RESEARCH, {"group": "MIS.FYS"})
    client.get("/api/v1/figures/sector/", {"group": "total"})
    entries = list(ResearchRequestLog.objects.order_by("at", "pk"))
    assert [(e.endpoint, e.status_code) for e in entries] == [
        ("research-rates", 200),
        ("research-rates", 400),
        ("figures-sector", 200),
    ]
    first = entries[0]
    assert first.user == researcher and first.username == "researcher"
    assert first.authentication == "token" and first.method == "GET"
    assert first.query == {
        "school_year": [YEAR],
        "group": ["misdragingen"],
        "victim_role": ["staff"],
    }
    # Nothing of the answer is stored: only who, what, when and the status.
    fields = {f.name for f in ResearchRequestLog._meta.get_fields()}
    assert fields == {
        "id",
        "user",
        "username",
        "at",
        "endpoint",
        "method",
        "query",
        "authentication",
        "status_code",
    }
    stored = json.dumps([e.query for e in entries])
    pseudonyms = [i.pseudonym for i in world["institutions"].values()]
    assert not any(p in stored for p in pseudonyms)


def test_coordinators_figure_requests_are_not_logged(world, coordinator_a):
    client = APIClient()
    client.force_authenticate(coordinator_a)
    client.get("/api/v1/figures/rates/")
    assert not ResearchRequestLog.objects.exists()


def test_no_log_no_data(world, researcher, monkeypatch):
    monkeypatch.setattr(research, "record_request", lambda **kwargs: False)
    response = token_client(researcher).get(RESEARCH)
    assert response.status_code == 503
    assert b"rate_per_1000" not in response.content


def test_a_huge_query_is_logged_in_bounded_size(world, researcher):
    token_client(researcher).get(RESEARCH + "?" + "&".join(f"p{i}={'x' * 500}" for i in range(50)))
    entry = ResearchRequestLog.objects.get()
    assert entry.status_code == 400
    assert len(entry.query) <= research.MAX_LOGGED_PARAMETERS
    assert all(
        len(v) <= research.MAX_LOGGED_LENGTH for values in entry.query.values() for v in values
    )


# --- A researcher never reaches an incident ----------------------------------------------------


def test_a_researcher_gets_403_or_404_on_every_incident_endpoint_export_and_page(
    world, researcher, coordinator_a
):
    incident = IncidentFactory(location=world["locations"]["25LJ"])
    api_urls = ["/api/v1/incidents/", f"/api/v1/incidents/{incident.pk}/"]
    page_urls = [
        "/incidents/",
        f"/incidents/{incident.pk}/",
        f"/incidents/{incident.pk}/edit/",
        "/incidents/register/",
        "/incidents/export.csv",
        "/incidents/export.xlsx",
        "/incidents/imports/",
        "/incidents/imports/mapping/",
        "/incidents/privacy/",
        "/figures/export/",
        f"/figures/export/download/?institution=25LJ&school_year={YEAR}&format=xlsx",
        f"/figures/export/download/?institution=25LJ&school_year={YEAR}&format=csv",
    ]
    api = token_client(researcher)
    browser = session_client(researcher)
    for url in api_urls:
        assert api.get(url).status_code in (403, 404), url
        assert browser.get(url).status_code in (403, 404), url
    for url in page_urls:
        assert browser.get(url).status_code in (403, 404), url
    assert api.post("/api/v1/incidents/", {}, format="json").status_code in (403, 404)
    for action in ("close", "withdraw"):
        url = f"/api/v1/incidents/{incident.pk}/{action}/"
        assert api.post(url, {}, format="json").status_code in (403, 404)
    assert (
        api.post("/api/v1/figures/jobs/", {"school_year": YEAR}, format="json").status_code == 403
    )
    # ... while the coordinator of the institution gets the same pages.
    coordinator = session_client(coordinator_a)
    assert coordinator.get("/incidents/export.csv").status_code == 200
    assert coordinator.get("/figures/export/").status_code == 200


def test_a_correlation_with_a_withheld_point_withholds_statistics_and_flags(world, researcher):
    client = token_client(researcher)
    rates = client.get(RESEARCH, {"school_year": YEAR, "group": "BRA"}).json()
    hidden = {r["institution"] for r in rates if r["suppressed"]}
    assert hidden  # fire incidents: small counts
    body = client.get(
        "/api/v1/figures/correlation/", {"school_year": YEAR, "score": "job", "group": "BRA"}
    ).json()
    assert body["status"] == "suppressed" and body["message"]
    assert body["pearson_r"] is None and body["rate_median"] is None and body["flagged"] == []
    assert body["n"] == 8  # the number is not a secret; which points are
    assert {p["institution"] for p in body["points"]}.isdisjoint(hidden)
    assert len(body["points"]) == 8 - len(hidden)
    # The total of all incidents has no small counts: everything is published.
    total = client.get("/api/v1/figures/correlation/", {"school_year": YEAR, "score": "job"}).json()
    assert total["status"] == "ok" and len(total["points"]) == 8


def test_a_nul_character_in_the_query_is_logged_not_a_server_error(world, coordinator_a):
    # PostgreSQL's jsonb cannot store NUL: found by fuzzing (issue 7).
    response = token_client(coordinator_a).get(RESEARCH + "?%C3%A7=a%00b&group=total")
    assert response.status_code == 403
    entry = ResearchRequestLog.objects.get()
    assert entry.query["ç"] == ["a\ufffdb"]
