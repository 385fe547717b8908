"""The dashboards (issue 6): figures 5.1, 5.3, 6.2 and 6.4 as SVG with the numbers in
tables and as CSV; a coordinator's own institution among anonymous others, a researcher's
pseudonyms with disclosure control; htmx swaps only the figures region; CSP-clean."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from reporting import dashboards
from reporting.models import ResearchRequestLog
from tests.miv.test_security import _InlineCode

from .world import PREVIOUS, YEAR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DASHBOARD = "/figures/"
SVG = "{http://www.w3.org/2000/svg}"


def session(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _query(**params) -> dict:
    return {"school_year": YEAR, "group": "total", "victim_role": "all", **params}


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        DASHBOARD,
        "/figures/chart/5.1.svg",
        "/figures/chart/6.4.svg",
        "/figures/data/5.3.csv",
        "/figures/export/",
    ],
)
def test_registrars_get_403_anonymous_users_the_login_page(world, registrar_a, url):
    assert session(registrar_a).get(url).status_code == 403
    response = session(None).get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_expired_session_in_htmx_sends_the_page_to_the_login(world):
    response = session(None).get(
        DASHBOARD, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/figures/?x=1"
    )
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/login/?next=/figures/")


def test_nav_entry_and_home_tile_for_users_who_may_read_figures(
    world, coordinator_a, researcher, administrator, registrar_a
):
    for user in (coordinator_a, researcher, administrator):
        html = session(user).get("/").content.decode()
        assert 'href="/figures/"' in html
    assert 'href="/figures/"' not in session(registrar_a).get("/").content.decode()
    assert 'href="/figures/export/"' in session(coordinator_a).get("/").content.decode()
    assert 'href="/figures/export/"' not in session(researcher).get("/").content.decode()


# --- The page ---------------------------------------------------------------------------------


def test_coordinator_sees_the_own_institution_among_anonymous_others(world, coordinator_a):
    response = session(coordinator_a).get(DASHBOARD, _query())
    assert response.status_code == 200
    html = response.content.decode()
    for figure in ("5.1", "5.3", "funnel", "6.2", "6.4"):
        assert f'href="/figures/chart/{figure}.svg?school_year={YEAR}&amp;group=total' in html
        assert f'href="/figures/data/{figure}.csv?' in html
        # The chart itself is in the page, its ids prefixed per figure.
        assert f'id="fig{figure.replace(".", "")}-figure_1"' in html
    # 5.1, 5.3, the funnel (the own institution is its one point), 6.2 and 6.4, and
    # Tabel 5.1's three dimensions.
    assert html.count("<table") == 8
    assert html.count('<svg xmlns:xlink="http://www.w3.org/1999/xlink"') == 5
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert re.search(r'<tr class="highlight"><td class="num">\d+</td>\s*<td>25LJ', html)
    # No other institution is named, by BRIN, pseudonym or name.
    for brin, institution in world["institutions"].items():
        if brin != "25LJ":
            assert brin not in html and institution.pseudonym not in html
            assert institution.name not in html
    assert "andere instelling" in html
    # A year whose audit finished says nothing of a wholesale withholding (test_attack).
    assert "withheld-wholesale" not in html and not response.context["withheld_wholesale"]
    # Its row of figure 5.3 has its count; anonymous rows do not.
    rows = response.context["fig53"]["rows"]
    own = [r for r in rows if r["own"]]
    assert len(own) == 1 and own[0]["count"] is not None
    assert all(r["count"] is None and r["students"] is None for r in rows if not r["own"])
    assert len(rows) + len(response.context["fig53"]["withheld"]) == 8


def test_researcher_sees_pseudonyms_and_disclosure_control(world, researcher):
    response = session(researcher).get(DASHBOARD, _query(group="MIL", victim_role="staff"))
    assert response.status_code == 200
    html = response.content.decode()
    for brin in world["institutions"]:
        assert brin not in html
    fig53 = response.context["fig53"]
    labels = {r["label"] for r in [*fig53["rows"], *fig53["withheld"]]}
    assert labels == {i.pseudonym for i in world["institutions"].values()}
    assert fig53["withheld"], "small counts of environment incidents with staff victims"
    assert "niet gepubliceerd (kleine aantallen)" in html
    for row in fig53["rows"]:
        assert row["count"] == 0 or row["count"] >= 5


def test_the_default_is_the_latest_complete_year_total_all(world, administrator):
    response = session(administrator).get(DASHBOARD)
    assert response.context["choice"] == dashboards.Choice(YEAR, "total", "all")
    options = response.context["options"]
    assert [y for y, _label in options["school_years"]] == [YEAR, PREVIOUS]
    assert [g for g, _label in options["groups"]] == [
        "total",
        "misdragingen",
        "ongevallen",
        "MIS",
        "ONG",
        "BRA",
        "MIL",
    ]


def test_htmx_gets_only_the_figures_region_without_js_the_whole_page(world, coordinator_a):
    client = session(coordinator_a)
    partial = client.get(DASHBOARD, _query(school_year=PREVIOUS), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body and "<form" not in body
    assert f"school_year={PREVIOUS}" in body
    full = client.get(DASHBOARD, _query(school_year=PREVIOUS)).content.decode()
    assert "<html" in full and 'method="get"' in full and 'hx-get="/figures/"' in full
    assert 'id="figures"' in full and 'hx-target="#figures"' in full


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"school_year": "2010-2011"}, "2010-2011"),
        ({"group": "MIS.FYS.06"}, "MIS.FYS.06"),
        ({"victim_role": "visitor"}, "visitor"),
    ],
)
def test_bad_choices_are_400_with_a_message(world, coordinator_a, params, parameter):
    response = session(coordinator_a).get(DASHBOARD, params)
    assert response.status_code == 400
    assert "error-summary" in response.content.decode() and parameter in response.content.decode()
    assert session(coordinator_a).get("/figures/chart/5.3.svg", params).status_code == 400
    assert session(coordinator_a).get("/figures/data/5.3.csv", params).status_code == 400


def test_no_figures_yet_says_so(coordinator_a):
    response = session(coordinator_a).get(DASHBOARD)
    assert response.status_code == 200
    assert "Er zijn nog geen cijfers berekend." in response.content.decode()
    assert session(coordinator_a).get("/figures/chart/5.1.svg").status_code == 404


def test_the_page_satisfies_the_content_security_policy(world, researcher):
    response = session(researcher).get(DASHBOARD)
    parser = _InlineCode()
    parser.feed(response.content.decode())
    assert parser.violations == []
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_researcher_page_views_are_logged(world, researcher, coordinator_a):
    session(researcher).get(DASHBOARD, _query())
    session(researcher).get("/figures/chart/5.3.svg", _query())
    session(coordinator_a).get(DASHBOARD)
    entries = list(ResearchRequestLog.objects.order_by("pk"))
    assert [(e.endpoint, e.authentication, e.status_code) for e in entries] == [
        ("dashboard:dashboard", "session", 200),
        ("dashboard:chart", "session", 200),
    ]


def test_english_page(world, coordinator_a):
    client = session(coordinator_a)
    client.cookies["django_language"] = "en"
    html = client.get(DASHBOARD).content.decode()
    assert "Figures: incidents per 1,000 students" in html
    assert "Download the data of figure 5.3 (CSV)" in html


# --- Charts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("figure", ["5.1", "5.3", "6.2", "6.4"])
def test_charts_are_svg_without_inline_styles(world, coordinator_a, researcher, figure):
    for user in (coordinator_a, researcher):
        response = session(user).get(f"/figures/chart/{figure}.svg", _query())
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        text = response.content.decode()
        root = ET.fromstring(text)
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        assert root.find(f"{SVG}title").text.startswith(f"Figuur {figure}")
        assert "style=" not in text and "<style" not in text
        assert root.iter(f"{SVG}text") is not None


def test_charts_name_only_what_the_reader_may_see(world, coordinator_a, researcher):
    coordinator = session(coordinator_a).get("/figures/chart/5.3.svg", _query()).content.decode()
    assert "25LJ" in coordinator and "30RR" not in coordinator
    pseudonym = world["institutions"]["30RR"].pseudonym
    assert pseudonym not in coordinator
    research = session(researcher).get("/figures/chart/5.3.svg", _query()).content.decode()
    assert pseudonym in research and "30RR" not in research


def test_an_unknown_figure_is_404(world, coordinator_a):
    assert session(coordinator_a).get("/figures/chart/9.9.svg").status_code == 404
    assert session(coordinator_a).get("/figures/data/5.2.csv").status_code == 404


# --- Data downloads ---------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    """The dashboards' CSV is for Dutch Excel: ";" between cells, a decimal comma."""
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_has_the_numbers_of_the_table(world, researcher):
    client = session(researcher)
    page = client.get(DASHBOARD, _query(group="BRA", victim_role="all"))
    response = client.get("/figures/data/5.3.csv", _query(group="BRA", victim_role="all"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    lines = _csv(response)
    fig53 = page.context["fig53"]
    assert len(lines) - 1 == len(fig53["rows"]) + len(fig53["withheld"])
    by_label = {line[1]: line for line in lines[1:]}
    for row in fig53["rows"]:
        rate = by_label[row["label"]][5]
        assert float(rate.replace(",", ".")) == pytest.approx(row["rate_per_1000"])
        assert "." not in rate
    for row in fig53["withheld"]:
        line = by_label[row["label"]]
        # Count, rate and interval withheld; by pseudonym no student number either: with
        # DUO's counts it would name the institution (issue 11).
        assert line[3:8] == ["", "", "", "", ""] and line[8] == "ja"


def test_the_english_csv_is_plain(world, researcher):
    client = session(researcher)
    client.cookies["django_language"] = "en"
    response = client.get("/figures/data/5.1.csv", _query())
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][0] == "School year" and len(lines[0]) == 8
    assert any("." in cell for line in lines[1:] for cell in line[5:])


def test_the_scatter_csv_marks_own_and_flagged_points(world, coordinator_a):
    response = session(coordinator_a).get("/figures/data/6.2.csv", _query())
    lines = _csv(response)
    assert lines[0] == [
        "Instelling",
        "Eigen instelling",
        "Per 1.000 studenten",
        "Score",
        "Mogelijke onderregistratie",
    ]
    own = [line for line in lines[1:] if line[1] == "ja"]
    assert len(own) == 1 and own[0][0] == "25LJ"
    assert all(line[0] == "" for line in lines[1:] if line[1] == "nee")


def test_figure_51_has_every_year_and_the_three_groups(world, administrator):
    response = session(administrator).get("/figures/data/5.1.csv", _query(group="BRA"))
    lines = _csv(response)[1:]
    assert {(line[0], line[1]) for line in lines} == {
        (year, group)
        for year in (PREVIOUS, YEAR)
        for group in ("total", "misdragingen", "ongevallen", "BRA")
    }

    def number(cell: str) -> float:  # Dutch Excel: a decimal comma
        return float(cell.replace(",", "."))

    assert all(number(line[6]) <= number(line[5]) <= number(line[7]) for line in lines)
